"""The mutation table a QA engineer reads, and the JSON a CI job or an Allure step keeps."""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from pytest_cloudjob.mutation.runs import Mutant, Outcome

MAX_KILLERS_SHOWN = 2


INCONCLUSIVE = "INCONCLUSIVE (transport)"
#: What ``baseline`` returns: every unbroken run green, one red, or none in what finished.
GREEN, RED, UNCHECKED = "green", "red", "unchecked"


def verdict(outcome: Outcome, red_baseline: bool = False) -> str:
    """The run's word, the same in the progress line, the table and the JSON; on a red baseline a red
    defect run is no kill, and says so."""
    if outcome.state in ("timeout", "harness-error"):
        return outcome.state.upper()
    if outcome.mutant.must_pass:
        return "green" if outcome.ok else "RED (must stay green)"
    if outcome.inconclusive:
        return INCONCLUSIVE
    if outcome.ok:
        return "killed (not counted: unbroken is red)" if red_baseline else "killed"
    return "SURVIVED"


def killers(outcome: Outcome) -> str:
    if outcome.inconclusive:  # the first transport failure and its one line: what to look at
        first = outcome.failures[0]
        return f"{first.test}: {first.transport}"
    names = [f.test for f in outcome.failures if not f.transport or outcome.mutant.must_pass]
    shown = ", ".join(names[:MAX_KILLERS_SHOWN])
    return shown + (f" (+{len(names) - MAX_KILLERS_SHOWN} more)" if len(names) > MAX_KILLERS_SHOWN else "")


def baseline(outcomes: list[Outcome]) -> str:
    """``red`` when an unbroken run finished red (or TIMEOUT...), ``green`` when every one finished is
    green, ``unchecked`` when none finished (none in the plan, or the command was interrupted first)."""
    runs = [o for o in outcomes if o.mutant.baseline]
    if not runs:
        return UNCHECKED
    return GREEN if all(o.ok for o in runs) else RED


def score(outcomes: list[Outcome]) -> tuple[int, int]:
    """(defects killed, defects run): an inconclusive run is run, not killed; on a red baseline nothing is
    killed (a suite red without any defect is red with one too, whatever the defect)."""
    defects = [o for o in outcomes if not o.mutant.must_pass]
    if baseline(outcomes) == RED:
        return 0, len(defects)
    return sum(o.ok for o in defects), len(defects)


def no_score(outcomes: list[Outcome]) -> str:
    """Why there is no score when the baseline is red, in one read."""
    red = [o for o in outcomes if o.mutant.baseline and not o.ok]
    failing = sorted({f.test for o in red for f in o.failures})
    if failing:
        why = (f"{len(failing)} test{'s' if len(failing) > 1 else ''} fail{'' if len(failing) > 1 else 's'} "
               f"without any defect, first: {failing[0]}")
    else:
        why = f"{red[0].mutant.name}: {verdict(red[0])}" + (f", {red[0].detail.splitlines()[0]}" if red[0].detail else "")
    return f"no score: the unbroken cloud is red ({why}): fix the suite or the target first"


def interruption(signal_name: str, finished: int, stopped: list[Mutant], not_started: list[Mutant]) -> str:
    """The line under a partial table: what the signal cut short, and that the score covers less."""
    runs = finished + len(stopped) + len(not_started)
    cut = ", ".join(m.name for m in stopped) or "none"
    return (f"INTERRUPTED by {signal_name}: {finished} of {runs} runs finished, the score above counts only "
            f"those; stopped: {cut}; not started: {len(not_started)}")


def table(outcomes: list[Outcome], wall_seconds: float) -> str:
    rows = [("run", "promise broken (or fault survived)", "verdict", "time", "killed by / failing tests")]
    red = baseline(outcomes) == RED
    for o in outcomes:
        rows.append((o.mutant.name, o.mutant.promise, verdict(o, red), f"{o.seconds:.1f}s",
                     killers(o) or o.detail.splitlines()[0] if (o.failures or o.detail) else ""))
    widths = [min(max(len(r[i]) for r in rows), 60) for i in range(4)]
    lines = ["  ".join(cell[:60].ljust(w) for cell, w in zip(r[:4], widths)) + "  " + r[4] for r in rows]
    lines.append("")
    lines.append(score_line(outcomes, wall_seconds))
    return "\n".join(lines)


def score_line(outcomes: list[Outcome], wall_seconds: float) -> str:
    """The table's last line: the score, or why there is none, and the fault runs."""
    killed, total = score(outcomes)
    faults = [o for o in outcomes if o.mutant.must_pass]
    rest = f"{sum(o.ok for o in faults)}/{len(faults)} fault runs green; wall time {wall_seconds:.1f}s"
    state = baseline(outcomes)
    if state == RED:
        return f"{no_score(outcomes)}; {rest}"
    inconclusive = sum(o.inconclusive for o in outcomes)
    line = f"mutation score: {killed}/{total} defects killed ({100 * killed / total if total else 100:.0f}%)"
    if inconclusive:
        line += f", {inconclusive} {INCONCLUSIVE} not counted as killed"
    if state == UNCHECKED:
        line += ", kills not checked against a baseline (no unbroken run finished)"
    return f"{line}; {rest}"


def to_json(outcomes: list[Outcome], wall_seconds: float,
            interrupted: dict[str, Any] | None = None, in_progress: bool = False) -> dict[str, Any]:
    """The outcomes; ``interrupted`` is ``null`` for a whole run, else the signal and the runs cut short.
    ``baseline``: ``green``, ``red`` (then ``score`` is ``null`` and ``killed`` 0) or ``unchecked``;
    ``in_progress``: written while runs are still going (the command has not finished)."""
    killed, total = score(outcomes)
    state = baseline(outcomes)
    red = state == RED
    return {
        "score": None if state == RED else killed / total if total else 1.0, "baseline": state,
        "killed": killed, "inconclusive": sum(o.inconclusive for o in outcomes), "defects": total,
        "wall_seconds": wall_seconds, "interrupted": interrupted, "in_progress": in_progress,
        "runs": [{"name": o.mutant.name, "promise": o.mutant.promise, "must_pass": o.mutant.must_pass,
                  "state": o.state, "ok": o.ok and not (red and not o.mutant.must_pass), "verdict": verdict(o, red),
                  "seconds": round(o.seconds, 2),
                  "passed": o.passed, "skipped": o.skipped, "detail": o.detail,
                  "failures": [{"test": f.test, "text": f.text, "transport": f.transport}
                               for f in o.failures]} for o in outcomes],
    }


def write_json(path: Path, outcomes: list[Outcome], wall_seconds: float,
               interrupted: dict[str, Any] | None = None, in_progress: bool = False) -> None:
    """Written whole or not at all (a ``.tmp`` renamed into place): a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(to_json(outcomes, wall_seconds, interrupted, in_progress), indent=2),
                         encoding="utf-8")
    os.replace(temporary, path)


class ReportError(ValueError):
    """A ``--first-from`` file that is not a mutation report: the message names the file and what is wrong."""


def killers_of_report(path: Path) -> dict[str, tuple[str, ...]]:
    """Per defect, the tests that killed it in an earlier ``--json`` report (transport errors left out).

    Order only, like pytest's ``--failed-first``: a defect run starts with its last killers, so it stops
    after one test instead of many; a stale report makes runs slower, never changes a verdict."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReportError(f"{path}: not a readable mutation --json report: {exc}") from None
    runs = data.get("runs") if isinstance(data, dict) else None
    if not isinstance(runs, list):
        raise ReportError(f"{path}: not a mutation --json report (no 'runs' list)")
    out: dict[str, tuple[str, ...]] = {}
    for number, run in enumerate(runs, 1):
        failures = run.get("failures") if isinstance(run, dict) else None
        if not isinstance(failures, list) or not isinstance(run.get("name"), str):
            raise ReportError(f"{path}: run {number} has no 'name' and 'failures' list")
        if run.get("must_pass"):
            continue
        out[run["name"]] = tuple(f["test"] for f in failures
                                 if isinstance(f, dict) and isinstance(f.get("test"), str) and not f.get("transport"))
    return out


class PartialJson:
    """``write_json`` after every finished run (``in_progress``), so that a command killed mid-plan
    (SIGKILL, a lost runner) leaves on disk every outcome that finished."""

    def __init__(self, path: Path, started: float) -> None:
        self.path = path
        self.started = started
        self.failed = False

    def __call__(self, outcomes: list[Outcome]) -> None:
        try:
            write_json(self.path, outcomes, time.monotonic() - self.started, in_progress=True)
        except OSError as exc:  # the runs go on; the final write raises it again, with its traceback
            if not self.failed:
                print(f"mutation: cannot write the partial --json {self.path}: {exc}", file=sys.stderr, flush=True)
            self.failed = True
