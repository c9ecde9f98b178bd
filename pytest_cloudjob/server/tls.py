"""Certificates for a reference cloud served over HTTPS on loopback, issued by a private CA made on the spot.

Real clouds are reached over TLS, often behind a company CA; serving the reference cloud the same way
lets a suite (and the benchmarks) exercise certificate verification and kept-alive TLS connections.
Needs ``trustme`` (in the ``test`` extra), which exists to make exactly such throwaway CAs.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pytest_cloudjob.errors import CloudJobError


@dataclass(frozen=True)
class LoopbackCertificate:
    cert: Path  # the server's certificate chain, PEM
    key: Path  # its private key, PEM
    ca_bundle: Path  # the private CA to trust: CloudContext(verify=...) or REQUESTS_CA_BUNDLE

    def server_args(self) -> list[str]:
        """The reference cloud's command-line options to serve with this certificate."""
        return ["--tls-cert", str(self.cert), "--tls-key", str(self.key)]


def issue_loopback_certificate(folder: Path) -> LoopbackCertificate:
    """Write a new private CA and a certificate for 127.0.0.1 signed by it into ``folder``."""
    try:
        import trustme
    except ImportError:
        raise CloudJobError("serving the reference cloud over HTTPS needs trustme: pip install trustme") from None
    folder.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA()
    issued = ca.issue_cert("127.0.0.1")
    made = LoopbackCertificate(folder / "cert.pem", folder / "key.pem", folder / "ca.pem")
    ca.cert_pem.write_to_path(str(made.ca_bundle))
    issued.private_key_pem.write_to_path(str(made.key))
    for i, blob in enumerate(issued.cert_chain_pems):
        blob.write_to_path(str(made.cert), append=i > 0)
    return made
