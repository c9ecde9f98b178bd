"""Hostile physics payloads of issue 19: zip bombs and the 12-mode, 6-photon batch that kept a cloud busy."""
from __future__ import annotations

import base64
import zlib
from typing import Any

from physics_jobs import pcvl


def zip_bomb(unpacked_bytes: int, prefix: bytes = b":PCVL:BSCount:{") -> str:
    """A ``:PCVL:zip:`` text that unpacks to ``unpacked_bytes`` bytes (mostly zeros), compressed by chunks so
    building it costs the test no memory."""
    packer = zlib.compressobj(9)
    chunk = b"0" * (1 << 20)
    parts = [packer.compress(prefix)]
    for _ in range(unpacked_bytes // len(chunk)):
        parts.append(packer.compress(chunk))
    parts.append(packer.flush())
    return ":PCVL:zip:" + base64.b64encode(b"".join(parts)).decode()


def wide(target: Any) -> Any:
    """The largest experiment a platform takes: a fixed 12-mode unitary, 6 photons, every photon count kept."""
    import numpy

    rng = numpy.random.default_rng(12)
    q, _ = numpy.linalg.qr(rng.standard_normal((12, 12)) + 1j * rng.standard_normal((12, 12)))
    target.set_circuit(pcvl.Unitary(pcvl.Matrix(q)))
    target.with_input(pcvl.BasicState([1] * 6 + [0] * 6))
    target.min_detected_photons_filter(0)
    return target


def rss_peak_kib(pid: int) -> int:
    """The high-water mark of a process's resident memory (``VmHWM``), in KiB."""
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
