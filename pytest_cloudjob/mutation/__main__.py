"""``python -m pytest_cloudjob.mutation [options] PATHS... [-- PYTEST ARGS...]``: the mutation score of a suite.

Each catalogued defect gets its own reference cloud (``--break NAME``) and one real pytest run of the suite
against it, two at a time by default; the unbroken cloud and each transient fault get one run too and must
stay green. A kill counts only on a green unbroken run (on a red one there is no score) and never by
transport errors alone (``INCONCLUSIVE (transport)``). ``--json`` is rewritten after every finished run
(``in_progress``). Exit status: 0 when the score reaches ``--min`` and every fault run is green, 1 otherwise,
2 for a usage error, 130 / 143 when SIGINT / SIGTERM stopped it (every child stopped within seconds, the
table of the runs that finished printed, marked INTERRUPTED, and the JSON written with ``interrupted``).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from pytest_cloudjob.mutation.children import Children
from pytest_cloudjob.mutation.report import (
    RED,
    PartialJson,
    ReportError,
    baseline,
    interruption,
    killers_of_report,
    score,
    table,
    write_json,
)
from pytest_cloudjob.mutation.runs import RunSettings, mutants
from pytest_cloudjob.mutation.schedule import run_plan, signals_recorded
from pytest_cloudjob.server.defects import CATALOGUE, TRANSIENT


def parse_args(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    own, pytest_args = (argv[:argv.index("--")], argv[argv.index("--") + 1:]) if "--" in argv else (argv, [])
    parser = argparse.ArgumentParser(
        prog="python -m pytest_cloudjob.mutation",
        description="Run a pytest-cloudjob suite once per promise the reference cloud breaks, and score it.",
        epilog="Arguments after '--' go to every pytest run (e.g. -- --cloud-platform sim:qa -m 'not physics').")
    parser.add_argument("paths", nargs="+", metavar="PATH", help="test paths of the suite, as given to pytest")
    parser.add_argument("--defect", action="append", default=[], metavar="NAME",
                        help="run only this defect (repeatable; default: the whole catalogue)")
    parser.add_argument("--no-defects", action="store_true",
                        help="only the must-stay-green runs (with --fault-repeats: a flakiness check)")
    parser.add_argument("--fault", action="append", default=[], metavar="NAME",
                        help=f"run only this must-stay-green profile (repeatable; default all: {', '.join(TRANSIENT)})")
    parser.add_argument("--fault-repeats", type=int, default=1, metavar="N",
                        help="run each fault profile N times: a suite must be green every time (default 1)")
    parser.add_argument("--no-faults", action="store_true", help="skip the unbroken and transient-fault runs")
    parser.add_argument("--min", type=float, default=1.0, metavar="SCORE",
                        help="fail (exit 1) when the share of defects killed is below this (default 1.0)")
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1),
                        help="runs at once (default: 2, or 1 on one core)")
    parser.add_argument("--run-timeout", type=float, default=180.0, metavar="SECONDS",
                        help="a run still going after this is stopped and reported TIMEOUT (default 180)")
    parser.add_argument("--cloud-timeout", type=float, default=10.0, metavar="SECONDS",
                        help="the suite's job deadline (--cloud-timeout of each run; default 10, the reference "
                             "cloud's jobs end in under 3 s even slowed down)")
    parser.add_argument("--cloud-arg", action="append", default=[], metavar="ARG",
                        help="extra argument for every reference cloud, e.g. --cloud-arg=--run-time=qpu:qa=0.3")
    parser.add_argument("--all-failures", action="store_true",
                        help="run each suite to the end to list every test that kills a defect (slower; "
                             "default: stop at the first)")
    parser.add_argument("--first-from", type=Path, metavar="PATH",
                        help="an earlier --json report: each defect run starts with the tests that killed it there "
                             "(order only: the same score, sooner)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the outcomes as JSON here")
    parser.add_argument("--workdir", type=Path, help="where each run keeps its cloud log and pytest output")
    parser.add_argument("--list", action="store_true", help="print the catalogue and exit")
    args = parser.parse_args(own)
    unknown = [name for name in args.defect if name not in CATALOGUE]
    if unknown:
        parser.error(f"--defect {unknown[0]!r}: unknown; known: {', '.join(CATALOGUE)}")
    unknown = [name for name in args.fault if name not in TRANSIENT]
    if unknown:
        parser.error(f"--fault {unknown[0]!r}: unknown; known: {', '.join(TRANSIENT)}")
    if not 0.0 <= args.min <= 1.0:
        parser.error("--min must be between 0 and 1")
    if args.fault_repeats < 1:
        parser.error("--fault-repeats must be at least 1")
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    return args, pytest_args


def main(argv: list[str] | None = None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    if "--list" in argv:
        for profile in TRANSIENT.values():
            print(f"{profile.name:28} must stay green: {profile.what}")
        for defect in CATALOGUE.values():
            print(f"{defect.name:28} breaks: {defect.promise} [{defect.row}]")
        return 0
    args, pytest_args = parse_args(argv)
    try:
        hints = killers_of_report(args.first_from) if args.first_from else {}
    except ReportError as exc:
        print(f"python -m pytest_cloudjob.mutation: error: --first-from {exc}", file=sys.stderr)
        return 2
    settings = RunSettings(paths=tuple(args.paths), pytest_args=tuple(pytest_args), cloud_args=tuple(args.cloud_arg),
                           run_timeout=args.run_timeout, cloud_timeout=args.cloud_timeout,
                           first_failure_only=not args.all_failures, hints=hints,
                           **({"workdir": args.workdir} if args.workdir else {}))
    defects = [] if args.no_defects else (args.defect or None)
    plan = mutants(defects, [] if args.no_faults else (args.fault or None), args.fault_repeats)
    print(f"mutation: {len(plan)} runs of {' '.join(args.paths)}, {args.workers} at a time", file=sys.stderr)
    started = time.monotonic()
    children = Children(watch_parent=True)
    with signals_recorded() as received:  # kept while the table and the JSON are written: no traceback there
        try:
            result = run_plan(plan, settings, args.workers, children, received,
                              on_outcome=PartialJson(args.json, started) if args.json else None)
        finally:
            children.close()
        wall = time.monotonic() - started
        outcomes = result.outcomes
        print(table(outcomes, wall))
        interrupted = None
        if result.signal_name is not None:
            print(interruption(result.signal_name, len(outcomes), result.stopped, result.not_started))
            interrupted = {"signal": result.signal_name, "stopped": [m.name for m in result.stopped],
                           "not_started": [m.name for m in result.not_started]}
        sys.stdout.flush()
        if args.json:
            write_json(args.json, outcomes, wall, interrupted)
    if result.signum is not None:
        return 128 + result.signum  # 130 for SIGINT, 143 for SIGTERM, as a shell reports a signalled command
    killed, total = score(outcomes)
    faults_green = all(o.ok for o in outcomes if o.mutant.must_pass)
    if baseline(outcomes) == RED:
        return 1  # no score at all (a red unbroken run is a red fault run too)
    return 0 if faults_green and (not total or killed / total >= args.min) else 1


if __name__ == "__main__":
    sys.exit(main())
