"""The mutation table a QA engineer reads, and the JSON a CI job or an Allure step keeps."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from pytest_cloudjob.mutation.runs import Mutant, Outcome

MAX_KILLERS_SHOWN = 2


def verdict(outcome: Outcome) -> str:
    if outcome.state in ("timeout", "harness-error"):
        return outcome.state.upper()
    if outcome.mutant.must_pass:
        return "green" if outcome.ok else "RED (must stay green)"
    return "killed" if outcome.ok else "SURVIVED"


def killers(outcome: Outcome) -> str:
    names = [f.test for f in outcome.failures]
    shown = ", ".join(names[:MAX_KILLERS_SHOWN])
    return shown + (f" (+{len(names) - MAX_KILLERS_SHOWN} more)" if len(names) > MAX_KILLERS_SHOWN else "")


def score(outcomes: list[Outcome]) -> tuple[int, int]:
    """(defects killed, defects run)."""
    defects = [o for o in outcomes if not o.mutant.must_pass]
    return sum(o.ok for o in defects), len(defects)


def interruption(signal_name: str, finished: int, stopped: list[Mutant], not_started: list[Mutant]) -> str:
    """The line under a partial table: what the signal cut short, and that the score covers less."""
    runs = finished + len(stopped) + len(not_started)
    cut = ", ".join(m.name for m in stopped) or "none"
    return (f"INTERRUPTED by {signal_name}: {finished} of {runs} runs finished, the score above counts only "
            f"those; stopped: {cut}; not started: {len(not_started)}")


def table(outcomes: list[Outcome], wall_seconds: float) -> str:
    rows = [("run", "promise broken (or fault survived)", "verdict", "time", "killed by / failing tests")]
    for o in outcomes:
        rows.append((o.mutant.name, o.mutant.promise, verdict(o), f"{o.seconds:.1f}s",
                     killers(o) or o.detail.splitlines()[0] if (o.failures or o.detail) else ""))
    widths = [min(max(len(r[i]) for r in rows), 60) for i in range(4)]
    lines = ["  ".join(cell[:60].ljust(w) for cell, w in zip(r[:4], widths)) + "  " + r[4] for r in rows]
    killed, total = score(outcomes)
    faults = [o for o in outcomes if o.mutant.must_pass]
    lines.append("")
    lines.append(f"mutation score: {killed}/{total} defects killed ({100 * killed / total if total else 100:.0f}%); "
                 f"{sum(o.ok for o in faults)}/{len(faults)} fault runs green; wall time {wall_seconds:.1f}s")
    return "\n".join(lines)


def to_json(outcomes: list[Outcome], wall_seconds: float,
            interrupted: dict[str, Any] | None = None) -> dict[str, Any]:
    """The outcomes; ``interrupted`` is ``null`` for a whole run, else the signal and the runs cut short."""
    killed, total = score(outcomes)
    return {
        "score": killed / total if total else 1.0, "killed": killed, "defects": total, "wall_seconds": wall_seconds,
        "interrupted": interrupted,
        "runs": [{"name": o.mutant.name, "promise": o.mutant.promise, "must_pass": o.mutant.must_pass,
                  "state": o.state, "ok": o.ok, "verdict": verdict(o), "seconds": round(o.seconds, 2),
                  "passed": o.passed, "skipped": o.skipped, "detail": o.detail,
                  "failures": [{"test": f.test, "text": f.text} for f in o.failures]} for o in outcomes],
    }


def write_json(path: Path, outcomes: list[Outcome], wall_seconds: float,
               interrupted: dict[str, Any] | None = None) -> None:
    """Written whole or not at all (a ``.tmp`` renamed into place): a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(to_json(outcomes, wall_seconds, interrupted), indent=2), encoding="utf-8")
    os.replace(temporary, path)
