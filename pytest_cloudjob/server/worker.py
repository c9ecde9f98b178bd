"""``python -m pytest_cloudjob.server.worker``: the reference cloud's simulations, in a process of their own.

SLOS holds the interpreter for seconds: in the cloud's process it starved the event loop (other tenants
waited), could not be stopped when its time budget ran out, and kept a SIGTERMed cloud alive for 6-26 s.
Here it runs apart: the cloud sends one JSON line per job and reads one JSON line back, kills this
process when a job overruns its budget or the cloud stops, and this process exits when the cloud is gone.
"""
from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
import time
from typing import IO, Any

READY = {"ready": True}


def answer(request: dict[str, Any]) -> dict[str, Any]:
    """The results text of one job, or the one-line reason it could not be computed."""
    from pytest_cloudjob.server.results import make_results

    details = request.get("details") or {}
    try:
        text = make_results(request["payload"], int(request["seed"]), str(request["job_key"]),
                            platform_details=lambda: details, defects=frozenset(request.get("defects") or ()))
    except Exception as exc:  # any failure of one job is that job's error, never the worker's end
        return {"error": " ".join(f"{type(exc).__name__}: {exc}".split())[:300]}
    return {"results": text}


def _exit_with_parent(parent: int, interval: float = 0.5) -> None:
    while os.getppid() == parent:
        time.sleep(interval)
    os._exit(0)


def main() -> None:
    # the protocol gets a private copy of stdout: whatever Perceval prints goes to stderr, the cloud's log
    protocol: IO[str] = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()
    _send(protocol, READY)
    for line in sys.stdin:
        try:
            request = json.loads(line)
        except ValueError:
            _send(protocol, {"error": "unreadable request"})
            continue
        if request == {"load": "perceval"}:  # before a job whose plan is not cached: outside its budget
            _load_perceval()
            _send(protocol, READY)
            continue
        _send(protocol, answer(request))


def _load_perceval() -> None:
    from pytest_cloudjob.physics import simulate

    if simulate.unavailable_reason() is None:
        with contextlib.suppress(ImportError):  # a broken install: the job itself says why
            import perceval  # noqa: F401


def _send(stream: IO[str], message: dict[str, Any]) -> None:
    stream.write(json.dumps(message) + "\n")
    stream.flush()


if __name__ == "__main__":
    main()
