"""The thresholds that fail a load run (exit code 1): error rate, p95 per call, jobs per minute, and the
leak sweep. Each check is one line of the summary, saying the limit and what the run measured."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from locust.stats import RequestStats, StatsEntry

from pytest_cloudjob.durations import parse_duration
from pytest_cloudjob.load.mix import MixError
from pytest_cloudjob.load.users import CALL_NAMES, SCENARIO_TYPE

#: The name standing for every call in ``--max-p95 DURATION`` (no ``CALL=``).
EVERY_CALL = "*"


@dataclass(frozen=True)
class Check:
    """One threshold's verdict on the run."""

    what: str
    ok: bool
    measured: str

    def line(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'} {self.what}: {self.measured}"


def parse_p95(items: list[str]) -> dict[str, float]:
    """``CALL=DURATION`` (or a bare ``DURATION`` for every call) as seconds per call name."""
    limits: dict[str, float] = {}
    names = set(CALL_NAMES.values())
    for item in items:
        call, sep, value = item.rpartition("=")
        call = call if sep else EVERY_CALL
        seconds = parse_duration(value)
        if seconds is None:
            raise MixError(f"--max-p95 {item!r}: expected CALL=DURATION or DURATION (e.g. status=250ms)")
        if call != EVERY_CALL and call not in names:
            raise MixError(f"--max-p95 {item!r}: unknown call {call!r}; known: {', '.join(sorted(names))}")
        limits[call] = seconds
    return limits


def by_call(stats: RequestStats) -> dict[str, StatsEntry]:
    """The HTTP calls' statistics per call name, all platforms together."""
    merged: dict[str, StatsEntry] = {}
    for (name, method), entry in stats.entries.items():
        if method == SCENARIO_TYPE:
            continue
        if name not in merged:
            merged[name] = StatsEntry(stats, name, "", use_response_times_cache=False)
        merged[name].extend(entry)
    return merged


def evaluate(stats: RequestStats, options: Any, jobs_created: int, minutes: float, leaks: int,
             sweep_note: str) -> list[Check]:
    """Every threshold's :class:`Check`, the leak sweep's last."""
    checks = []
    total = stats.total
    rate = total.fail_ratio
    checks.append(Check(f"error rate <= {options.max_error_rate:.2%}", rate <= options.max_error_rate,
                        f"{total.num_failures} failures in {total.num_requests} requests ({rate:.2%})"))
    calls = by_call(stats)
    for call, limit in parse_p95(options.max_p95 or []).items():
        for name in (sorted(calls) if call == EVERY_CALL else [call]):
            entry = calls.get(name)
            if entry is None or not entry.num_requests:
                checks.append(Check(f"p95 of {name} <= {limit * 1000:.0f} ms", call == EVERY_CALL,
                                    "no such call in this run"))
                continue
            p95 = entry.get_response_time_percentile(0.95)
            checks.append(Check(f"p95 of {name} <= {limit * 1000:.0f} ms", p95 <= limit * 1000,
                                f"{p95:.0f} ms over {entry.num_requests} calls"))
    if options.min_jobs_per_minute:
        per_minute = jobs_created / minutes if minutes > 0 else 0.0
        checks.append(Check(f"jobs per minute >= {options.min_jobs_per_minute:g}",
                            per_minute >= options.min_jobs_per_minute,
                            f"{per_minute:.0f} ({jobs_created} jobs in {minutes * 60:.0f} s)"))
    if options.cloud_no_sweep:
        checks.append(Check("leak sweep", True, "not run (--cloud-no-sweep)"))
    else:
        checks.append(Check("no job left active (leak sweep)", leaks == 0 and not sweep_note,
                            sweep_note or f"{leaks} leaked"))
    return checks
