"""Collection time of an ``include:`` fan-out: python benchmarks/bounds_loader.py [--code DIR] [--cap SECONDS].

Seven steps files: ``f1`` includes ``f2`` ten times, ... ``f7`` holds ten steps, so one scenario that
includes ``f1`` expands to 10^7 steps. ``pytest --collect-only -q`` of that scenario runs in a fresh
subprocess (the embedded cloud is not started by ``--collect-only``), killed after ``--cap`` seconds.
``--code DIR`` measures the package found in DIR instead (an older checkout made with ``git archive``).
Prints one Markdown row, ready for docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FILES, WIDTH = 7, 10


def build(folder: Path) -> None:
    for n in range(1, FILES):
        (folder / f"f{n}.steps.yaml").write_text(f"- include: f{n + 1}.steps.yaml\n" * WIDTH)
    (folder / f"f{FILES}.steps.yaml").write_text("- platform: {}\n" * WIDTH)
    (folder / "fan.scenario.yaml").write_text("name: fan-out\nsteps:\n  - include: f1.steps.yaml\n")


def collect(folder: Path, code: Path, cap: float) -> tuple[float, bool, str, str]:
    """(wall seconds, whether it ended within ``cap``, what it said, pytest's own figure)."""
    env = {**os.environ, "PYTHONPATH": str(code)}
    started = time.monotonic()
    process = subprocess.Popen([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                                "-p", "no:randomly"], cwd=folder, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    try:
        out, _ = process.communicate(timeout=cap)
        ended = True
    except subprocess.TimeoutExpired:
        process.kill()
        out, _ = process.communicate()
        ended = False
    said = [line for line in out.splitlines() if "more than" in line]
    figure = re.search(r" in (\d+\.\d+)s", out)
    return (time.monotonic() - started, ended, said[0] if said else "(nothing)",
            f"{figure.group(1)} s" if figure else "-")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--code", type=Path, default=ROOT, help="the checkout whose package is measured")
    parser.add_argument("--cap", type=float, default=120.0, help="kill the collection after this many seconds")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        build(folder)
        seconds, ended, line, figure = collect(folder, args.code.resolve(), args.cap)
    shown = f"{seconds:.2f} s" if ended else f"> {args.cap:.0f} s (killed)"
    print("| code | collection (pytest's own figure) | whole command | what it said |")
    print("|---|---:|---:|---|")
    print(f"| {args.code} | {figure if ended else '-'} | {shown} | {line.replace(str(folder) + '/', '').strip()[:150]} |")


if __name__ == "__main__":
    main()
