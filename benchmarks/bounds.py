"""The client's bounds, measured: python benchmarks/bounds.py [--quick] [--code DIR].

1. memory: a client process's peak when a status call is answered with a 50 MB body (sent with a
   Content-Length, and chunked), with the default limit and with the limit raised above the body.
2. records: what call records hold after a wait polled a 3 MB (allowed) status body for 3 s.
3. deadline: the wall time of ``Job.wait_until(timeout=T)`` against a silent cloud (accepts TCP, never
   answers), a cloud that answers three polls then goes silent, and one that sends its answer a byte
   every 0.5 s, with the default context (30 s read timeout, 4 attempts per status read).
4. calls: the wall time of one create, one results read and one cancel (each outside any wait) against a
   cloud that trickles its answer one byte per second, and one that sends a chunked body for ever, with
   ``CloudContext(call_timeout=10)`` (code from before the setting: its default context); a probe still
   running after ``CALL_PROBE_LIMIT_S`` is killed and reported as hung. The six probes of a code run at once.
5. overhead: what the URL check and the call deadline add to every call, in this process (best of 5
   timeit runs): building and checking a status URL, entering and leaving the call's deadline, and the
   watchdog's watch and release (``--code`` does not apply).
6. status (only with ``--against DIR``): ms per ``Job.get_status`` outside a wait (2,000 calls after 200
   warm-up calls) against one reference cloud, for the code of ``--code`` and of DIR, alternated 4 times.

Each client runs in a fresh subprocess (its peak RSS is its own), the 50 MB server in another, both on
127.0.0.1. Every loop is bounded. ``--code DIR`` measures the package found in DIR instead (e.g. an older
checkout made with ``git archive``). Results print as Markdown, ready for docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the tests' raw loopback server

from _raw_cloud import serve

ROOT = Path(__file__).resolve().parents[1]
BODY_MB = 50

#: A server answering every GET with a ``BODY_MB`` MB JSON status body, 1 MiB at a time; argv: port file, chunked.
BIG_BODY_SERVER = textwrap.dedent('''
    import sys
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    SIZE, CHUNKED = int(sys.argv[2]) * 1024 * 1024, sys.argv[3] == "chunked"

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_GET(self):
            head, tail = b'{"status": "running", "pad": "', b'"}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header(*(("Transfer-Encoding", "chunked") if CHUNKED else ("Content-Length", str(SIZE))))
            self.end_headers()
            pad = SIZE - len(head) - len(tail)
            pieces = [head] + [None] * ((pad + (1 << 20) - 1) >> 20) + [tail]
            try:
                for i, piece in enumerate(pieces):
                    piece = piece if piece is not None else b"x" * min(1 << 20, pad - ((i - 1) << 20))
                    self.wfile.write(b"%x\\r\\n%s\\r\\n" % (len(piece), piece) if CHUNKED else piece)
                if CHUNKED:
                    self.wfile.write(b"0\\r\\n\\r\\n")
            except OSError:
                self.close_connection = True

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    open(sys.argv[1], "w").write(str(server.server_address[1]))
    server.serve_forever()
''')

#: One client call in a fresh process: peak RSS growth and Python's peak allocation, as JSON on stdout.
CLIENT_PROBE = textwrap.dedent('''
    import json, resource, sys, time, tracemalloc
    sys.path.insert(0, sys.argv[1])
    from pytest_cloudjob import CloudContext, Job, User
    url, limit = sys.argv[2], int(sys.argv[3])
    try:
        context = CloudContext(url, **({"max_response_bytes": limit} if limit else {}))
    except TypeError:  # code from before the limit existed (--code)
        context = CloudContext(url)
    user = User("tok-bench-bounds")
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    started = time.perf_counter()
    try:
        body = Job(job_id="big").get_status(context, user)
        outcome = f"read ({len(body['pad']) // 2**20} MiB of padding)"
    except Exception as exc:
        outcome = type(exc).__name__ + (" (protocol)" if getattr(exc, "kind", "") == "protocol" else "")
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base
    print(json.dumps({"outcome": outcome, "rss_mib": grown / 1024, "py_mib": peak / 2**20, "seconds": seconds}))
''')

#: A 3 s wait polling a large (but allowed) status body while every call record is kept, as a scenario keeps them.
RECORDS_PROBE = textwrap.dedent('''
    import json, resource, sys
    sys.path.insert(0, sys.argv[1])
    from pytest_cloudjob import CloudContext, Job, PollingPolicy, User
    context = CloudContext(sys.argv[2])
    records = []
    context.api.listeners.append(records.append)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    outcome = "returned"
    try:
        Job(job_id="big").wait_until(context, User("tok-bench-bounds"), "completed", timeout=3,
                                     policy=PollingPolicy(first=0.05, cap=0.1))
    except Exception as exc:
        outcome = type(exc).__name__
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base
    kept = sum(len(r.response_text) for r in records)
    print(json.dumps({"outcome": outcome, "polls": len(records), "kept_mib": kept / 2**20, "rss_mib": grown / 1024}))
''')

#: ``wait_until(timeout=T)`` in a fresh process against ``url``: the wall time and the error's first words.
WAIT_PROBE = textwrap.dedent('''
    import json, sys, time
    sys.path.insert(0, sys.argv[1])
    from pytest_cloudjob import CloudContext, Job, User
    url, timeout = sys.argv[2], float(sys.argv[3])
    context = CloudContext(url)
    started = time.monotonic()
    try:
        Job(job_id="silent").wait_until(context, User("tok-bench-bounds"), "completed", timeout=timeout)
        outcome = "returned"
    except Exception as exc:
        outcome = type(exc).__name__ + ": " + str(exc).split(";")[0][:90]
    print(json.dumps({"seconds": time.monotonic() - started, "outcome": outcome}))
''')


#: One create, results read or cancel in a fresh process: the wall time and the error's first words.
CALL_PROBE = textwrap.dedent('''
    import json, sys, time
    sys.path.insert(0, sys.argv[1])
    from pytest_cloudjob import CloudContext, Job, User
    url, call, call_timeout = sys.argv[2], sys.argv[3], float(sys.argv[4])
    try:
        context = CloudContext(url, call_timeout=call_timeout)
    except TypeError:  # code from before the setting (--code)
        context = CloudContext(url)
    user = User("tok-bench-bounds")
    calls = {"create": lambda: Job(payload={"command": "sample_count"}).create(context, user),
             "results read": lambda: Job(job_id="j-1").get_results(context, user),
             "cancel": lambda: Job(job_id="j-1").cancel(context, user)}
    started = time.monotonic()
    try:
        calls[call]()
        outcome = "returned"
    except Exception as exc:
        outcome = type(exc).__name__ + ": " + str(exc).split(" (")[0][:120]
    print(json.dumps({"seconds": time.monotonic() - started, "outcome": outcome}))
''')
#: The probes of section 4 are killed past this many seconds (what issue 19 saw: killed at 50 s).
CALL_PROBE_LIMIT_S = 50.0
CALL_TIMEOUT_S = 10.0


def _trickle_bytes(conn: socket.socket, stop: threading.Event) -> None:
    """A whole answer, sent one byte per second (its last byte 2 minutes away)."""
    body = json.dumps({"job_id": "j-1", "status": "canceled", "results": None, "pad": "x" * 40}).encode()
    for byte in b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body):
        if stop.wait(1.0):
            return
        conn.sendall(bytes([byte]))


def _chunks_for_ever(conn: socket.socket, stop: threading.Event) -> None:
    """Headers at once, then a one-byte chunk every 0.5 s, the last chunk never sent."""
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n{\r\n")
    while not stop.wait(0.5):
        conn.sendall(b"1\r\n \r\n")


@contextmanager
def raw_server(answer: Callable[[socket.socket, threading.Event], object]) -> Iterator[str]:
    """A loopback server giving every connection ``answer`` (written to the socket, byte by byte): the tests'
    ``serve`` (tests/_raw_cloud.py), stopped at the end of the block."""
    url, stop, _ = serve(answer)
    try:
        yield url
    finally:
        stop.set()


@contextmanager
def big_body_server(chunked: bool, tmp: Path, size_mb: int = BODY_MB) -> Iterator[str]:
    port_file = tmp / f"port-{chunked}-{size_mb}"
    proc = subprocess.Popen([sys.executable, "-c", BIG_BODY_SERVER, str(port_file), str(size_mb),
                             "chunked" if chunked else "length"])
    try:
        for _ in range(100):
            if port_file.exists() and port_file.read_text():
                break
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port_file.read_text()}"
    finally:
        proc.terminate()
        proc.wait(10)


@contextmanager
def silent_server(answers: int = 0, trickle: float = 0.0) -> Iterator[str]:
    """Accepts connections; answers the first ``answers`` requests with a running status, then nothing
    (or, with ``trickle``, the answer one byte every ``trickle`` seconds: each read well inside its timeout)."""
    answered = 0
    body = json.dumps({"status": "running", "progress": 0.1}).encode()
    response = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)

    def answer(conn: socket.socket, stop: threading.Event) -> None:
        """Each request on the connection (``serve`` has read the first), until the client closes it."""
        nonlocal answered
        conn.settimeout(0.2)
        while not stop.is_set():
            if answered < answers:
                answered += 1
                conn.sendall(response)
            elif trickle:
                for byte in response:
                    if stop.wait(trickle):
                        return
                    conn.sendall(bytes([byte]))
            while not stop.is_set():  # the next request
                try:
                    if not conn.recv(65536):
                        return
                    break
                except OSError:
                    continue

    with raw_server(answer) as url:
        yield url


def _probe(code: Path, script: str, *args: str, limit_s: float = 300) -> dict:
    out = subprocess.run([sys.executable, "-c", script, str(code), *args], capture_output=True, text=True,
                         timeout=limit_s, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench_memory(code: Path, tmp: Path) -> list[str]:
    rows = ["| 50 MB status body sent with | client limit | outcome | peak RSS growth (MiB) | peak Python allocs (MiB) | s |",
            "|---|---|---|---:|---:|---:|"]
    for chunked in (False, True):
        with big_body_server(chunked, tmp) as url:
            for limit, name in ((0, "default (4 MiB)"), (64 * 1024 * 1024, "raised to 64 MiB")):
                r = _probe(code, CLIENT_PROBE, url, str(limit))
                rows.append(f"| {'chunks' if chunked else 'Content-Length'} | {name} | {r['outcome']} | "
                            f"{r['rss_mib']:.1f} | {r['py_mib']:.1f} | {r['seconds']:.2f} |")
    return rows


def bench_records(code: Path, tmp: Path) -> list[str]:
    rows = ["| 3 MB status body, polled for 3 s | status calls | record text kept (MiB) | peak RSS growth (MiB) |",
            "|---|---:|---:|---:|"]
    with big_body_server(True, tmp, size_mb=3) as url:
        r = _probe(code, RECORDS_PROBE, url)
    rows.append(f"| every call record kept by a listener | {r['polls']} | {r['kept_mib']:.1f} | {r['rss_mib']:.1f} |")
    return rows


def bench_deadline(code: Path, quick: bool) -> list[str]:
    rows = ["| cloud | wait_until timeout | runs | wall time min / median / max (s) | ends with |", "|---|---:|---:|---|---|"]
    runs = 1 if quick else 3
    for answers, trickle, name in ((0, 0.0, "silent (accepts TCP, never answers)"),
                                   (3, 0.0, "answers 3 polls, then silent"),
                                   (0, 0.5, "trickles its answer, 1 byte per 0.5 s")):
        for timeout in ((5.0,) if quick else (1.0, 5.0)):
            times, outcome = [], ""
            for _ in range(runs):
                with silent_server(answers, trickle) as url:
                    r = _probe(code, WAIT_PROBE, url, str(timeout))
                times.append(r["seconds"])
                outcome = r["outcome"]
            rows.append(f"| {name} | {timeout:g} s | {runs} | {min(times):.2f} / {statistics.median(times):.2f} / "
                        f"{max(times):.2f} | {outcome.replace('|', '/')} |")
    return rows


def _call_probe(code: Path, url: str, call: str) -> dict:
    try:
        return _probe(code, CALL_PROBE, url, call, str(CALL_TIMEOUT_S), limit_s=CALL_PROBE_LIMIT_S)
    except subprocess.TimeoutExpired:
        return {"seconds": None, "outcome": f"hung: killed at {CALL_PROBE_LIMIT_S:g} s"}


def bench_calls(code: Path) -> list[str]:
    rows = [f"| cloud | call | wall time (s) | ends with (call_timeout={CALL_TIMEOUT_S:g} s where the code has it) |",
            "|---|---|---:|---|"]
    clouds = (("trickles its answer, 1 byte per second", _trickle_bytes), ("chunked body, never ends", _chunks_for_ever))
    calls = ("create", "results read", "cancel")
    with raw_server(_trickle_bytes) as trickling, raw_server(_chunks_for_ever) as chunking, \
            ThreadPoolExecutor(max_workers=len(clouds) * len(calls)) as pool:
        urls = {clouds[0][0]: trickling, clouds[1][0]: chunking}
        futures = {(name, call): pool.submit(_call_probe, code, urls[name], call) for name, _ in clouds for call in calls}
        for (name, call), future in futures.items():
            r = future.result()
            seconds = f"{r['seconds']:.2f}" if r["seconds"] is not None else f"> {CALL_PROBE_LIMIT_S:g}"
            rows.append(f"| {name} | {call} | {seconds} | {r['outcome'].replace('|', '/')} |")
    return rows


#: ms per status call outside a wait, in a fresh process (argv: package folder, cloud URL, user token).
STATUS_PROBE = textwrap.dedent('''
    import json, sys, time
    sys.path.insert(0, sys.argv[1])
    from pytest_cloudjob import CloudContext, Job, User
    context, user = CloudContext(sys.argv[2]), User(sys.argv[3])
    job = Job(platform_name="sim:qa", payload={"command": "sample_count", "input_state": "|1,1,0>", "max_shots": 10},
              process_id="bench-bounds")
    job.create(context, user)
    for _ in range(200):
        job.get_status(context, user)
    started = time.perf_counter()
    for _ in range(2000):
        job.get_status(context, user)
    print(json.dumps({"ms": (time.perf_counter() - started) / 2000 * 1e3}))
''')


def bench_status(code: Path, against: Path, tmp: Path) -> list[str]:
    sys.path.insert(0, str(ROOT))
    from pytest_cloudjob.server.process import start_reference_cloud

    cloud = start_reference_cloud(tmp / "status-cloud.log")
    times: dict[Path, list[float]] = {code: [], against: []}
    try:
        for _ in range(4):
            for folder in times:
                times[folder].append(_probe(folder, STATUS_PROBE, cloud.url, cloud.tokens["user"])["ms"])
    finally:
        cloud.stop()
    rows = ["| code | ms per status call: min / median | the 4 runs |", "|---|---|---|"]
    for folder, values in times.items():
        rows.append(f"| {folder} | {min(values):.3f} / {statistics.median(values):.3f} | "
                    f"{' '.join(f'{v:.3f}' for v in values)} |")
    return rows


def bench_overhead() -> list[str]:
    import timeit

    sys.path.insert(0, str(ROOT))
    from pytest_cloudjob.api.deadline import WATCHDOG, enter, leave
    from pytest_cloudjob.api.urls import fill, join

    class Connection:
        sock = None
        cloudjob_watch = None

    connection = Connection()
    job_id = "11111111-2222-3333-4444-555555555555"

    def url() -> None:
        join("GET", "http://127.0.0.1:8080", fill("GET", "/api/job/status/{job_id}", {"job_id": job_id}))

    def deadline() -> None:
        leave(enter(time.monotonic() + 60))

    def watch() -> None:
        WATCHDOG.release(WATCHDOG.watch(time.monotonic() + 60, connection))

    rows = ["| per-call work | µs per call (best of 5 × 20,000) |", "|---|---:|"]
    for name, fn in (("status URL: fill, check, join (remembered per URL)", url),
                     ("the call's deadline: enter and leave", deadline), ("watchdog: watch and release", watch)):
        rows.append(f"| {name} | {min(timeit.repeat(fn, number=20000, repeat=5)) / 20000 * 1e6:.1f} |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one run per row (a smoke run, not for the record)")
    parser.add_argument("--only", default="memory,records,deadline,calls,overhead,status",
                        help="comma-separated sections")
    parser.add_argument("--code", type=Path, default=ROOT, help="folder holding the pytest_cloudjob package to measure")
    parser.add_argument("--against", type=Path, default=None,
                        help="with section 'status': a second package folder to compare --code with")
    args = parser.parse_args()
    tmp = Path(os.environ.get("TMPDIR", "/tmp")) / f"cloudjob-bounds-{os.getpid()}"
    tmp.mkdir(parents=True, exist_ok=True)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {time.strftime('%Y-%m-%d')}, code: {args.code}\n")
    for name, lines in (("memory", lambda: bench_memory(args.code, tmp)),
                        ("records", lambda: bench_records(args.code, tmp)),
                        ("deadline", lambda: bench_deadline(args.code, args.quick)),
                        ("calls", lambda: bench_calls(args.code)),
                        ("overhead", bench_overhead),
                        ("status", lambda: bench_status(args.code, args.against, tmp) if args.against else [])):
        if name not in args.only.split(",") or (name == "status" and args.against is None):
            continue
        started = time.perf_counter()
        out = lines()
        print(f"## {name} ({time.perf_counter() - started:.0f} s)\n")
        print("\n".join(out) + "\n", flush=True)


if __name__ == "__main__":
    main()
