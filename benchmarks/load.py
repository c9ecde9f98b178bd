"""Load benchmarks: what a scenario user costs the load generator, and what the reference cloud sustains.

    python benchmarks/load.py            # about 2 minutes
    python benchmarks/load.py --quick    # a smoke run, about 40 s

1. Load-generation cost: CPU milliseconds of the Locust process per request, for the smoke lifecycle
   scenario as ``ScenarioUser`` (every expectation, the state-machine checks, the call records) beside a
   plain Locust ``HttpUser`` making the same calls with no checks (benchmarks/load_plain_locustfile.py).
   The CPU time is the Locust process's own (``os.wait4``), the cloud's is not in it.
2. Capacity of the reference cloud: the smoke lifecycle scenario at rising user counts; jobs/s, status
   calls/s and the p95 of create and status at each, so the rate at which p95 stays under a bound reads off.

Every run is bounded by its ``--run-time``; each part starts its own reference cloud and stops it.
"""
from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pytest_cloudjob.run.settings import TOKEN_ENV  # noqa: E402
from pytest_cloudjob.server.process import RunningCloud, start_reference_cloud  # noqa: E402

#: The smoke lifecycle scenario alone: the other smoke scenarios weighted 0.
LIFECYCLE_ONLY = ("-m", "smoke", "--cloud-weight", "platform=0", "--cloud-weight", "security=0")
P95_BOUND_MS = 250


def run_locust(command: list[str], cloud: RunningCloud, folder: Path,
               name: str) -> tuple[float, dict[str, dict[str, str]]]:
    """Run one headless Locust process against ``cloud``; its CPU seconds and its stats rows by name."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CLOUDJOB_URL": cloud.url,
           **{variable: cloud.tokens[account] for account, variable in TOKEN_ENV.items()}}
    prefix = folder / name
    with open(folder / f"{name}.log", "w") as log:
        process = subprocess.Popen([*command, "--csv", str(prefix)], env=env, cwd=folder, stdout=log,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    with open(f"{prefix}_stats.csv", newline="") as handle:
        rows = {row["Name"]: row for row in csv.DictReader(handle)}
    return usage.ru_utime + usage.ru_stime, rows


def cost(users: int, seconds: int, folder: Path) -> None:
    """Each kind of user twice, for ``seconds`` and for 2 s: the difference leaves the process's start-up
    (imports, Locust's own set-up) out of the cost per request."""
    print(f"\n## Load-generation cost: {users} users, {seconds} s against 2 s, the smoke lifecycle scenario\n")
    print("| user | requests | CPU s | CPU ms / request (start-up left out) |\n|---|---:|---:|---:|")
    measured = {}
    for run_time in (2, seconds):
        measured[run_time] = _cost_runs(users, run_time, folder)
    for name, (cpu, requests) in measured[seconds].items():
        short_cpu, short_requests = measured[2][name]
        per_request = (cpu - short_cpu) * 1000 / max(requests - short_requests, 1)
        print(f"| {name} | {requests} | {cpu:.1f} | {per_request:.2f} |")


def _cost_runs(users: int, seconds: int, folder: Path) -> dict[str, tuple[float, int]]:
    headless = ["--headless", "--users", str(users), "--spawn-rate", str(users), "--run-time", f"{seconds}s",
                "--only-summary"]
    out = {}
    for name, command in (
            ("ScenarioUser (checks)", [sys.executable, "-m", "pytest_cloudjob.load", str(ROOT / "scenarios"),
                                       *LIFECYCLE_ONLY, *headless, "--cloud-no-sweep"]),
            ("plain HttpUser", [sys.executable, "-m", "locust", "-f", str(ROOT / "benchmarks" / "load_plain_locustfile.py"),
                                "--host", "", *headless])):
        cloud = start_reference_cloud(folder / f"cloud-{len(name)}.log")
        try:
            if name.startswith("plain"):
                command[command.index("--host") + 1] = cloud.url
            cpu, rows = run_locust(command, cloud, folder, f"{name.split()[0]}-{seconds}")
        finally:
            cloud.stop()
        requests = int(rows["Aggregated"]["Request Count"])
        if name.startswith("ScenarioUser"):  # HTTP calls only, not the scenario-run events
            requests -= sum(int(r["Request Count"]) for r in rows.values() if r["Type"] == "scenario")
        out[name] = (cpu, requests)
    return out


def capacity(user_counts: list[int], seconds: int, folder: Path) -> None:
    print(f"\n## Reference cloud capacity: the smoke lifecycle scenario, {seconds} s per row\n")
    print("| users | jobs/s | status calls/s | p95 create ms | p95 status ms | failures |\n|---:|---:|---:|---:|---:|---:|")
    cloud = start_reference_cloud(folder / "cloud-capacity.log")
    try:
        # warm-up, not shown: the cloud's first creates load Perceval to check the experiments' limits
        run_locust([sys.executable, "-m", "pytest_cloudjob.load", str(ROOT / "scenarios"), *LIFECYCLE_ONLY, "--headless",
                    "--users", "5", "--spawn-rate", "5", "--run-time", "3s", "--only-summary"], cloud, folder, "warm-up")
        for users in user_counts:
            _, rows = run_locust([sys.executable, "-m", "pytest_cloudjob.load", str(ROOT / "scenarios"), *LIFECYCLE_ONLY,
                                  "--headless", "--users", str(users), "--spawn-rate", str(users), "--run-time",
                                  f"{seconds}s", "--only-summary"], cloud, folder, f"capacity-{users}")
            create, status = rows["create"], rows["status"]
            print(f"| {users} | {float(create['Requests/s']):.1f} | {float(status['Requests/s']):.0f} | "
                  f"{create['95%']} | {status['95%']} | {rows['Aggregated']['Failure Count']} |")
    finally:
        cloud.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="cloudjob-load-bench-"))
    seconds = 8 if args.quick else 20
    cost(20, seconds, folder)
    capacity([5, 20] if args.quick else [5, 10, 20, 40, 80], seconds // 2, folder)
    print(f"\n(Locust logs and CSV files in {folder}; p95 bound for the capacity reading: {P95_BOUND_MS} ms)")


if __name__ == "__main__":
    main()
