"""The README's test command on an oversubscribed machine: python benchmarks/busy_machine.py [--hogs 4] [--runs 3].

A shared CI runner can be busy (load 10-20 on 2 cores). This starts ``--hogs`` CPU-bound processes (each a
Python loop that stops by itself after ``--max-seconds``, or when this script ends), then runs the README's
test command ``--runs`` times beside them and prints, per run, its exit status, wall time and pytest's last
line, as a Markdown table for docs/benchmarks.md. Exit status 0 only when every run is green: the suite
tests behaviour, not timing, so a busy machine may make it slower, never red.

``--command`` replaces the command (default: the line of README.md that ends in ``# run the tests``, without
the install: ``ruff check . && mypy && pytest tests -n 4``).
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HOG = "import os, sys, time\nend = time.monotonic() + float(sys.argv[1])\nparent = os.getppid()\n" \
      "while time.monotonic() < end and os.getppid() == parent:\n    sum(i * i for i in range(100_000))\n"


def readme_test_command() -> str:
    line = next(line for line in (ROOT / "README.md").read_text().splitlines() if line.endswith("# run the tests"))
    command = line.removesuffix("# run the tests").strip()
    return re.sub(r"^.*pip install [^&]*&& ", "", command)  # the installs (uv, then the project) are not measured


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hogs", type=int, default=4, help="CPU-bound processes beside the suite (default 4)")
    parser.add_argument("--runs", type=int, default=3, help="runs of the command (default 3)")
    parser.add_argument("--max-seconds", type=float, default=3600.0, help="a hog stops by itself after this")
    parser.add_argument("--command", default=None, help="the command to run (default: the README's, no install)")
    args = parser.parse_args()
    command = args.command or readme_test_command()
    hogs = [subprocess.Popen([sys.executable, "-c", HOG, str(args.max_seconds)]) for _ in range(args.hogs)]
    rows: list[str] = []
    codes: list[int] = []
    try:
        for run in range(1, args.runs + 1):
            started = time.monotonic()
            done = subprocess.run(["bash", "-c", command], cwd=ROOT, capture_output=True, text=True)
            wall = time.monotonic() - started
            codes.append(done.returncode)
            last = next((line for line in reversed(done.stdout.splitlines()) if line.strip()), "")
            load = os.getloadavg()[0]
            rows.append(f"| {run} | {done.returncode} | {wall / 60:.1f} min | {load:.1f} | {last.strip('= ')} |")
            print(rows[-1], file=sys.stderr, flush=True)
            if done.returncode != 0:
                sys.stderr.write(done.stdout[-4000:])
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
    print(f"`{command}` beside {args.hogs} CPU hogs on {os.cpu_count()} cores:\n")
    print("| run | exit | wall | load (1 min) at the end | pytest |\n|---:|---:|---:|---:|---|")
    print("\n".join(rows))
    return 0 if codes and not any(codes) else 1


if __name__ == "__main__":
    sys.exit(main())
