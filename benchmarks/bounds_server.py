"""The reference cloud's bounds, measured: python benchmarks/bounds_server.py [--quick] [--code DIR].

1. zip bomb: the cloud's peak resident memory (``VmHWM``) and another tenant's slowest status call while
   one create carries a 1 MB ``:PCVL:zip:`` experiment that unpacks to ~780 MB, and how the create is answered.
2. SIGTERM: the wall time from SIGTERM to exit of a cloud simulating a batch of 100 runs of a 12-mode,
   6-photon experiment on the lossy ``qpu:qa`` (about 20 s of SLOS); before issue 19 a results read started
   the simulation, so the benchmark sends one in both cases.

Each cloud is a fresh subprocess on 127.0.0.1; every loop is bounded. ``--code DIR`` measures the package
found in DIR instead (an older checkout made with ``git archive``). Needs the physics extra (Perceval).
Results print as Markdown, ready for docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import base64
import contextlib
import os
import signal
import statistics
import sys
import tempfile
import threading
import time
import zlib
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
BOMB_BODY_BYTES = 1_000_000  # of base64 text: the create body stays under the cloud's 1 MiB


def bomb() -> tuple[str, int]:
    """A ``:PCVL:zip:`` experiment of about ``BOMB_BODY_BYTES`` and how many bytes it unpacks to."""
    packer = zlib.compressobj(9)
    parts, unpacked, packed = [packer.compress(b":PCVL:Experiment:")], 0, 0
    chunk = b"0" * (1 << 20)
    while packed * 4 // 3 < BOMB_BODY_BYTES - 4096:
        part = packer.compress(chunk)
        parts.append(part)
        packed += len(part)
        unpacked += len(chunk)
    parts.append(packer.flush())
    return ":PCVL:zip:" + base64.b64encode(b"".join(parts)).decode(), unpacked


def memory_kib(pid: int, key: str) -> int:
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(key + ":"))


def start(code: Path, log: Path) -> Any:
    sys.path.insert(0, str(code))
    os.environ["PYTHONPATH"] = str(code)
    from pytest_cloudjob.server.process import start_reference_cloud

    return start_reference_cloud(log, ["--run-time", "sim:qa=0.05", "--run-time", "qpu:qa=0.05"])


def hom_payload() -> dict[str, Any]:
    import perceval as pcvl
    from perceval.serialization import serialize

    experiment = pcvl.Experiment(pcvl.BS())
    experiment.with_input(pcvl.BasicState([1, 1]))
    return {"command": "sample_count", "experiment": serialize(experiment), "max_shots": 100}


def wide_batch(runs: int = 100) -> dict[str, Any]:
    import numpy
    import perceval as pcvl
    from perceval.serialization import serialize

    q, _ = numpy.linalg.qr(numpy.random.default_rng(12).standard_normal((12, 12)) + 0j)
    experiment = pcvl.Experiment(pcvl.Unitary(pcvl.Matrix(q)))
    experiment.with_input(pcvl.BasicState([1] * 6 + [0] * 6))
    experiment.min_detected_photons_filter(0)
    return {"command": "sample_count", "experiment": serialize(experiment), "max_shots": 1000,
            "iterator": [{} for _ in range(runs)]}


def post(cloud: Any, payload: dict[str, Any], platform: str = "sim:qa", role: str = "user") -> requests.Response:
    return requests.post(cloud.url + "/api/job", json={"platform_name": platform, "payload": payload}, timeout=300,
                         headers={"Authorization": f"Bearer {cloud.tokens[role]}"})


def zip_bomb_row(code: Path, folder: Path) -> dict[str, Any]:
    cloud = start(code, folder / "bomb.log")
    try:
        post(cloud, hom_payload())  # Perceval imported: the peak that follows is the bomb's
        other_job = post(cloud, {"command": "probs"}, role="other").json()["job_id"]
        before_rss = memory_kib(cloud.process.pid, "VmRSS")
        text, unpacked = bomb()
        answer: dict[str, Any] = {}

        def send() -> None:
            started = time.monotonic()
            try:
                got = post(cloud, {"command": "sample_count", "experiment": text, "max_shots": 10})
                answer.update(status=got.status_code, error=got.json().get("error", ""))
            except requests.RequestException as exc:
                answer.update(status=type(exc).__name__, error="")
            answer["took"] = time.monotonic() - started

        sender = threading.Thread(target=send)
        sender.start()
        slowest, calls = 0.0, 0
        while sender.is_alive() or calls < 20:
            started = time.monotonic()
            requests.get(f"{cloud.url}/api/job/status/{other_job}", timeout=300,
                         headers={"Authorization": f"Bearer {cloud.tokens['other']}"})
            slowest, calls = max(slowest, time.monotonic() - started), calls + 1
        sender.join()
        return {"body_kb": len(text) / 1000, "unpacked_mb": unpacked / 1e6, "rss_before_mib": before_rss / 1024,
                "peak_mib": memory_kib(cloud.process.pid, "VmHWM") / 1024, "slowest_s": slowest, "calls": calls,
                **answer}
    finally:
        cloud.stop()


def sigterm_row(code: Path, folder: Path) -> float:
    cloud = start(code, folder / "sigterm.log")
    try:
        job_id = post(cloud, wide_batch(), platform="qpu:qa").json()["job_id"]
        time.sleep(0.3)  # the job has run (0.05 s): what remains is its simulation
        reader = threading.Thread(target=lambda: _quietly(lambda: requests.get(
            f"{cloud.url}/api/job/result/{job_id}", timeout=300,
            headers={"Authorization": f"Bearer {cloud.tokens['user']}"})), daemon=True)
        reader.start()  # before issue 19, the first results read simulated, in the cloud's process
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not requests.get(cloud.url + "/health", timeout=300).json().get(
                "simulating", time.monotonic() > deadline - 57):  # (older clouds do not say: 3 s into it)
            time.sleep(0.05)
        started = time.monotonic()
        cloud.process.send_signal(signal.SIGTERM)
        cloud.process.wait(120)
        return time.monotonic() - started
    finally:
        if cloud.process.poll() is None:
            cloud.process.kill()


def _quietly(call: Any) -> None:
    with contextlib.suppress(requests.RequestException):
        call()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one SIGTERM run instead of three")
    parser.add_argument("--code", type=Path, default=ROOT, help="the checkout whose pytest_cloudjob to measure")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bounds-server-"))
    os.chdir(folder)  # ``python -m`` puts the working directory first: the cloud must import --code's package
    args.code = args.code.resolve()
    row = zip_bomb_row(args.code, folder)
    print(f"| zip bomb: {row['body_kb']:.0f} kB create, unpacks to {row['unpacked_mb']:.0f} MB | answered "
          f"{row['status']} in {row['took']:.2f} s | cloud RSS {row['rss_before_mib']:.0f} MiB before, peak "
          f"{row['peak_mib']:.0f} MiB | other tenant's slowest of {row['calls']} status calls: {row['slowest_s']:.2f} s |")
    if row["error"]:
        print(f"|   error: {row['error'][:160]} | | | |")
    stops = [sigterm_row(args.code, folder) for _ in range(1 if args.quick else 3)]
    print(f"| SIGTERM while simulating a 100-run 12x6 batch | median {statistics.median(stops):.2f} s, "
          f"max {max(stops):.2f} s of {len(stops)} | | |")


if __name__ == "__main__":
    main()
