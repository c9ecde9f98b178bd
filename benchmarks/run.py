"""pytest-cloudjob benchmarks, side by side in one run: python benchmarks/run.py [--quick] [--only a,b].

1. client: status calls per second with our Api, plain requests.get, and Perceval's RPCHandler,
   over plain HTTP and over HTTPS (a private CA, as real clouds are reached; needs trustme).
2. detection: delay between a job ending on the server and the harness seeing it, and status calls,
   for jobs of 0.2 s, 1 s and 5 s: our adaptive waiting versus a fixed 1 s poll.
3. suite: 200 lifecycle scenarios, one process and -n 2: overhead per scenario and speed-up.
4. collection: 1000 scenario files collected.
5. server: status requests per second under 8 concurrent clients, and memory after 50 000 jobs.

Every loop is bounded in count and time. Each section starts its own reference cloud on 127.0.0.1.
Results print as Markdown, ready for docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import requests
import urllib3
from loadgen import run_load

from pytest_cloudjob import CloudContext, Job, User
from pytest_cloudjob.server.process import RunningCloud, start_reference_cloud
from pytest_cloudjob.server.tls import issue_loopback_certificate

LIFECYCLE = """name: lifecycle {n}
steps:
  - create: {{payload: {{command: sample_count, max_shots: 100}}, save: job}}
  - wait: {{job: job, until: completed, timeout: 60s}}
  - results:
      job: job
      expect: {{results: {{json: {{results: {{sum: 100}}}}}}}}
"""


@contextmanager
def cloud(*args: str) -> Iterator[RunningCloud]:
    log = Path(tempfile.mkdtemp(prefix="cloudjob-bench-")) / "cloud.log"
    running = start_reference_cloud(log, list(args))
    try:
        yield running
    finally:
        running.stop()


def rate(call: Callable[[], object], max_calls: int, max_seconds: float) -> tuple[float, int]:
    """Calls per second of ``call`` over at most ``max_calls`` calls and ``max_seconds``."""
    for _ in range(20):  # warm up connections and caches
        call()
    started = time.perf_counter()
    n = 0
    while n < max_calls and time.perf_counter() - started < max_seconds:
        call()
        n += 1
    return n / (time.perf_counter() - started), n


# -- 1. client -----------------------------------------------------------------------------------------------
def _client_rows(c: RunningCloud, ca_bundle: Path | None, max_calls: int, max_seconds: float) -> list[tuple]:
    """Status calls/s of our Api, requests.get per call and Perceval's RPCHandler against cloud ``c``."""
    verify: bool | str = str(ca_bundle) if ca_bundle else True
    context, user = CloudContext(c.url, verify=verify), User(token=c.tokens["user"])
    job = Job(platform_name="sim:slow")
    job.create(context, user)
    status_url = f"{c.url}/api/job/status/{job.job_id}"
    headers = {"Authorization": f"Bearer {c.tokens['user']}"}
    rows = [("pytest-cloudjob Api (Job.get_status)", *rate(lambda: job.get_status(context, user), max_calls, max_seconds)),
            ("requests.get per call", *rate(lambda: requests.get(status_url, headers=headers, timeout=10,
                                                                 verify=verify).json(), max_calls, max_seconds))]
    try:
        from perceval.providers.quandela.rpc_handler import RPCHandler
    except ImportError:
        rows.append(("Perceval RPCHandler.get_job_status", float("nan"), 0))
    else:
        handler = RPCHandler("sim:slow", url=c.url, token=c.tokens["user"])
        # Perceval's requests.get trusts the CA bundle the environment names.
        with mock.patch.dict(os.environ, {"REQUESTS_CA_BUNDLE": str(ca_bundle)} if ca_bundle else {}):
            rows.append(("Perceval RPCHandler.get_job_status",
                         *rate(lambda: handler.get_job_status(job.job_id), max_calls, max_seconds)))
    rows += _floor_rows(c, ca_bundle, job.job_id, headers, max_calls, max_seconds)
    job.cancel(context, user)
    context.close()
    return rows


def _floor_rows(c: RunningCloud, ca_bundle: Path | None, job_id: str, headers: dict[str, str], max_calls: int,
                max_seconds: float) -> list[tuple]:
    """What any client built on requests/urllib3 could reach at best: the same kept-alive call with no
    harness (urllib3's pool, no requests), and with no library at all (http.client)."""
    split = urllib.parse.urlsplit(c.url)
    path = f"/api/job/status/{job_id}"
    pool = urllib3.PoolManager(ca_certs=str(ca_bundle) if ca_bundle else None).connection_from_url(c.url)
    timeout = urllib3.Timeout(connect=5, read=30)
    if split.scheme == "https":
        conn: http.client.HTTPConnection = http.client.HTTPSConnection(
            split.hostname or "", split.port, context=ssl.create_default_context(cafile=str(ca_bundle)))
    else:
        conn = http.client.HTTPConnection(split.hostname or "", split.port)

    def bare() -> object:
        conn.request("GET", path, headers=headers)
        return json.loads(conn.getresponse().read())

    rows = [("floor: urllib3 pool alone, kept alive", *rate(lambda: json.loads(pool.urlopen(
                "GET", path, headers=headers, retries=False, redirect=False, timeout=timeout).data),
                max_calls, max_seconds)),
            ("floor: bare http.client, kept alive", *rate(bare, max_calls, max_seconds))]
    conn.close()
    pool.close()
    return rows


def bench_client(quick: bool) -> list[str]:
    max_calls, max_seconds = (500, 1.5) if quick else (5000, 5.0)
    results = []
    with cloud() as c:
        results.append(("http", _client_rows(c, None, max_calls, max_seconds)))
    try:
        certificate = issue_loopback_certificate(Path(tempfile.mkdtemp(prefix="cloudjob-bench-tls-")))
    except RuntimeError as exc:
        results.append((f"https: not measured, {exc}", []))
    else:
        with cloud(*certificate.server_args()) as c:
            results.append(("https", _client_rows(c, certificate.ca_bundle, max_calls, max_seconds)))
    out = ["| to the reference cloud over | client | status calls/s | ms per call | calls made | ours is |",
           "|---|---|---:|---:|---:|---:|"]
    for transport, rows in results:
        if not rows:
            out.append(f"| {transport} | | | | | |")
            continue
        ours = rows[0][1]
        for name, per_second, n in rows:
            ratio = "-" if name.startswith(("pytest-cloudjob", "floor")) else (
                f"{ours / per_second:.1f}x" if per_second == per_second else "n/a")
            out.append(f"| {transport} | {name} | {per_second:,.0f} | {1000 / per_second if per_second else 0:.2f} "
                       f"| {n} | {ratio} |")
    return out


# -- 2. completion detection -----------------------------------------------------------------------------------
def _fixed_poll(context: CloudContext, user: User, job: Job, period: float, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        body = job.get_status(context, user)
        if body.get("status") in ("completed", "error", "canceled") or time.monotonic() > deadline:
            return body
        time.sleep(period)


def bench_detection(quick: bool) -> list[str]:
    # "About" 0.2, 1 and 5 s, and not whole seconds: a fixed 1 s poll would land right on a job that
    # ends on a whole second (the reference cloud is punctual), which no real job does.
    durations = {"sim:qa": 0.23, "qpu:qa": 1.37, "sim:slow": 5.41}
    jobs_each = 3 if quick else 5
    args = [f"--run-time={p}={s}" for p, s in durations.items()]
    out = ["| job length | waiting | median delay | p90 delay | max delay | median status calls | max calls |",
           "|---|---|---:|---:|---:|---:|---:|"]
    with cloud(*args) as c:
        user = User(token=c.tokens["user"])
        for platform, seconds in durations.items():
            if platform == "qpu:qa" and quick:
                continue
            results: dict[str, list[tuple[float, int]]] = {"adaptive (ours)": [], "fixed 1 s poll": []}
            lock = threading.Lock()

            def one(kind: str) -> None:
                context = CloudContext(c.url)
                job = Job(platform_name=platform)
                job.create(context, user)
                if kind == "adaptive (ours)":
                    body = job.wait_until(context, user, "completed", timeout=60)
                else:
                    body = _fixed_poll(context, user, job, 1.0, 60)
                seen = time.time()
                end = float(body["start_time"]) + seconds
                with lock:
                    results[kind].append((seen - end, len(job.history.observations)))
                context.close()

            # qpu:qa runs one job at a time: its jobs are waited one after the other.
            parallel = platform != "qpu:qa"
            threads = [threading.Thread(target=one, args=(kind,)) for kind in results for _ in range(jobs_each)]
            for t in threads:
                t.start()
                if not parallel:
                    t.join()
            for t in threads:
                t.join()
            for kind, samples in results.items():
                delays = sorted(d * 1000 for d, _ in samples)
                calls = [n for _, n in samples]
                p90 = delays[min(len(delays) - 1, int(0.9 * len(delays)))]
                out.append(f"| {seconds:g} s ({platform}) | {kind} | {statistics.median(delays):.0f} ms | {p90:.0f} ms | "
                           f"{max(delays):.0f} ms | {statistics.median(calls):g} | {max(calls)} |")
    return out


# -- 3. suite overhead ------------------------------------------------------------------------------------------
def _pytest(folder: Path, env: dict[str, str], *args: str) -> tuple[float, str]:
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "pytest", str(folder), "-q", "-p", "no:cacheprovider", *args],
                          cwd=folder, env=env, capture_output=True, text=True, timeout=1800)
    elapsed = time.perf_counter() - started
    tail = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else proc.stderr[-300:]
    if proc.returncode != 0:
        raise SystemExit(f"pytest failed in {folder}: {tail}\n{proc.stdout[-2000:]}")
    return elapsed, tail


def bench_suite(quick: bool) -> list[str]:
    count = 40 if quick else 200
    queue, run = 0.02, 0.2  # the reference cloud's sim:qa
    folder = Path(tempfile.mkdtemp(prefix="cloudjob-suite-"))
    for f in range(count // 10):
        (folder / f"lifecycle_{f:03d}.scenario.yaml").write_text(
            "---\n".join(LIFECYCLE.format(n=f * 10 + i) for i in range(10)))
    out = ["| run | scenarios | wall time | scenarios/s | per scenario | harness overhead per scenario | speed-up |",
           "|---|---:|---:|---:|---:|---:|---:|"]
    with cloud() as c:
        env = {**os.environ, "CLOUDJOB_URL": c.url, "CLOUDJOB_TOKEN": c.tokens["user"],
               "CLOUDJOB_OTHER_TOKEN": c.tokens["other"], "CLOUDJOB_ADMIN_TOKEN": c.tokens["admin"]}
        empty = Path(tempfile.mkdtemp(prefix="cloudjob-empty-"))
        (empty / "test_nothing.py").write_text("def test_nothing(cloud_user): pass\n")
        startup, _ = _pytest(empty, env)  # pytest start, plugin load, preflight, sweep: paid once per run
        single, tail1 = _pytest(folder, env)
        double, tail2 = _pytest(folder, env, "-n", "2")
    for name, wall, tail in (("1 process", single, tail1), ("-n 2", double, tail2)):
        per = wall / count
        workers = 1 if name == "1 process" else 2
        overhead = (wall - startup) / count * workers - (queue + run)
        speedup = "-" if workers == 1 else f"{single / double:.2f}x"
        out.append(f"| {name} ({tail}) | {count} | {wall:.1f} s | {count / wall:.1f} | {per * 1000:.0f} ms | "
                   f"{overhead * 1000:.0f} ms | {speedup} |")
    out.append(f"\nOne run of an empty suite (startup, preflight, leak sweep) took {startup:.2f} s; it is "
               f"subtracted before the per-scenario overhead, which also takes out the job's own "
               f"{(queue + run) * 1000:.0f} ms (queue + run on sim:qa).")
    return out


# -- 4. collection ------------------------------------------------------------------------------------------------
def bench_collection(quick: bool) -> list[str]:
    count = 1000
    folder = Path(tempfile.mkdtemp(prefix="cloudjob-collect-"))
    shipped = (Path(__file__).resolve().parents[1] / "scenarios" / "lifecycle.scenario.yaml").read_text()
    for i in range(count):
        (folder / f"s{i:04d}.scenario.yaml").write_text(shipped.replace("name: ", f"name: n{i} "))
    scenarios = shipped.count("\nname: ") + shipped.startswith("name: ")
    _pytest(folder, dict(os.environ), "--collect-only")  # warm the file cache
    wall, tail = _pytest(folder, dict(os.environ), "--collect-only")
    reported = re.search(r"in ([0-9.]+)s", tail)
    return ["| files | items | collection (pytest's own figure) | whole command |", "|---:|---:|---:|---:|",
            f"| {count} | {count * scenarios} | {reported.group(1) if reported else '?'} s | {wall:.2f} s |"]


# -- 5. the reference cloud --------------------------------------------------------------------------------------
def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def bench_server(quick: bool) -> list[str]:
    seconds = 2.0 if quick else 5.0
    total_jobs = 5_000 if quick else 50_000
    out = ["| measure | value |", "|---|---:|"]
    with cloud("--max-finished-jobs", str(total_jobs * 2)) as c:
        token = c.tokens["user"]
        context, user = CloudContext(c.url), User(token=token)
        ids = []
        for _ in range(8):
            job = Job(platform_name="sim:slow")
            job.create(context, user)
            ids.append(job.job_id)
        paths = [f"/api/job/status/{i}" for i in ids]
        result = run_load(c.url, token, 8, paths, max_seconds=seconds, max_requests=200_000)
        out.append(f"| status requests/s, 8 concurrent clients, {result.seconds:.1f} s | {result.per_second:,.0f} "
                   f"({result.errors} errors) |")
        out.append(f"| server memory (RSS) at start | {_rss_mib(c.process.pid):.1f} MiB |")
        body = {"platform_name": "sim:qa", "job_name": "bench", "pcvl_version": "0.12.0", "process_id": "bench",
                "payload": {"command": "sample_count", "max_shots": 100}}
        block = total_jobs // 5
        rates = []
        created = 0
        while created < total_jobs:
            r = run_load(c.url, token, 8, ["/api/job"], method="POST", body=body, max_requests=block, max_seconds=120)
            created += r.requests
            rates.append(f"{r.per_second:,.0f}")
            if r.requests < block:
                break
        health = context.api.session.get(f"{c.url}/health", timeout=10).json()
        out.append(f"| jobs created (8 connections), creates/s per {block:,}-job block | {created:,}: {', '.join(rates)} |")
        out.append(f"| server memory (RSS) after {created:,} jobs ({health['jobs']:,} stored) | "
                   f"{_rss_mib(c.process.pid):.1f} MiB |")
        result = run_load(c.url, token, 8, paths, max_seconds=seconds, max_requests=200_000)
        out.append(f"| status requests/s after {created:,} jobs | {result.per_second:,.0f} ({result.errors} errors) |")
        listing = time.perf_counter()
        context.api.session.get(f"{c.url}/api/admin/jobs", params={"process_id": "none"},
                                headers={"Authorization": f"Bearer {c.tokens['admin']}"}, timeout=60)
        out.append(f"| admin listing filtered over {health['jobs']:,} jobs | {(time.perf_counter() - listing) * 1000:.0f} ms |")
        for job_id in ids:
            Job(job_id=job_id).cancel(context, user)
    return out


SECTIONS = {"client": bench_client, "detection": bench_detection, "suite": bench_suite,
            "collection": bench_collection, "server": bench_server}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller counts, for a smoke run (not for the record)")
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated sections: {', '.join(SECTIONS)}")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {time.strftime('%Y-%m-%d')}\n")
    for name in args.only.split(","):
        started = time.perf_counter()
        lines = SECTIONS[name.strip()](args.quick)
        print(f"## {name} ({time.perf_counter() - started:.0f} s)\n")
        print("\n".join(lines) + "\n", flush=True)


if __name__ == "__main__":
    main()
