"""The ``cloudjob`` section of the terminal summary: target, per-platform numbers, thresholds, the statistical
checks against the run's false-alarm budget, the leak sweep.

The columns add up: created = completed + failed + canceled + unended, where canceled includes the jobs
the clean-up (a factory's teardown, the sweep) cancelled, and the sweep's listing adds the jobs no
report mentioned (a crashed worker's).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from pytest_cloudjob.redaction import redact
from pytest_cloudjob.run.target import CloudRun
from pytest_cloudjob.run.thresholds import threshold_failures

_EMPTY_ROW = {"created": 0, "completed": 0, "failed": 0, "canceled": 0, "unended": 0, "p50": None, "p95": None,
              "calls_per_job": 0.0}


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}s"


def summary_lines(run: CloudRun) -> list[str]:
    target = f"embedded reference cloud {run.url} (log: {run.log_path})" if run.log_path else str(run.url)
    lines = [f"target: {target}", f"run id: {run.run_id}"]
    rows = run.stats.summary()
    leaks_by_platform = Counter(platform for _, platform, _, _ in run.leaks)
    header = f"{'platform':<12} {'created':>7} {'completed':>9} {'failed':>6} {'canceled':>8} {'unended':>7} " \
             f"{'p50':>7} {'p95':>7} {'status/job':>10} {'leaked':>6}"
    lines.append(header)
    for platform in sorted(set(rows) | set(leaks_by_platform)):
        row = rows.get(platform, _EMPTY_ROW)
        lines.append(f"{platform:<12} {row['created']:>7} {row['completed']:>9} {row['failed']:>6} "
                     f"{row['canceled']:>8} {row['unended']:>7} {_seconds(row['p50']):>7} {_seconds(row['p95']):>7} "
                     f"{row['calls_per_job']:>10.1f} {leaks_by_platform.get(platform, 0):>6}")
    lines.extend(f"threshold FAILED: {line}" for line in threshold_failures(run.settings, rows))
    lines.extend(run.budget.summary_lines())
    lines.extend(f"unknown status {status!r} listed for job {job_id} ({platform}): counted as possibly active"
                 for job_id, platform, status in run.unknown_statuses)
    if run.sweep_skipped:
        lines.append("leak sweep: no admin token, skipped by choice (--cloud-no-sweep): leaked jobs of this run "
                     "were not looked for" if run.user("admin") is None else
                     "leak sweep: skipped by choice (--cloud-no-sweep): leaked jobs of this run were not looked for")
    if run.leaks:
        done = "and were cancelled" if not run.uncancelled else f"({len(run.uncancelled)} could NOT be cancelled)"
        lines.append(f"leak sweep: FAILED, {len(run.leaks)} job(s) of this run were still active {done}:")
        lines.extend(f"  {job_id} ({platform}, {status}) made by {test}"
                     + (f", NOT cancelled: {run.uncancelled[job_id]}" if job_id in run.uncancelled else "")
                     for job_id, platform, status, test in run.leaks)
    if run.sweep_error:
        lines.append(f"leak sweep: FAILED, {run.sweep_error}")
    elif not run.leaks and not run.sweep_skipped:
        lines.append(f"leak sweep: {run.swept} job(s) of this run listed, 0 leaked")
    return lines


@dataclass(frozen=True)
class RunLevelFailure:
    """One reason the run fails that belongs to no test: what junit XML and Allure show as a failed result.

    ``key`` names the result for good (its Allure history id, its junit test name); ``title`` says it is
    run-level; ``message`` explains it in one read (the terminal's summary has the same facts)."""

    key: str
    title: str
    message: str


def run_level_failures(run: CloudRun) -> list[RunLevelFailure]:
    """Why the run must fail even if every test passed: leaks, a sweep that could not complete, thresholds,
    the run's false-alarm budget; one entry per kind, each with its whole explanation (masked)."""
    out: list[RunLevelFailure] = []
    if run.leaks:
        shown = run.leaks[:10]
        jobs = "; ".join(f"{job_id} ({platform}, {status}) made by {test}"
                         + (f", NOT cancelled: {run.uncancelled[job_id]}" if job_id in run.uncancelled else "")
                         for job_id, platform, status, test in shown)
        more = f"; and {len(run.leaks) - len(shown)} more (the terminal summary lists them)" if run.leaks[10:] else ""
        done = "the sweep cancelled them" if not run.uncancelled else \
            f"{len(run.uncancelled)} of them could NOT be cancelled"
        out.append(RunLevelFailure(
            "leak-sweep", "run-level: leak sweep found jobs left running",
            f"run-level: the end-of-run leak sweep found {len(run.leaks)} job(s) of this run still active after every "
            f"test had ended ({done}): {jobs}{more}. A test that makes a job must see it end or cancel it; "
            "cloud_job_factory cancels its jobs at teardown."))
    if run.sweep_error:
        out.append(RunLevelFailure(
            "leak-sweep-incomplete", "run-level: leak sweep could not complete",
            f"run-level: {run.sweep_error}; jobs this run left active may still be running on the cloud "
            f"(list them as admin with process_id={run.run_id})."))
    thresholds = threshold_failures(run.settings, run.stats.summary())
    if thresholds:
        out.append(RunLevelFailure(
            "thresholds", "run-level: performance thresholds exceeded",
            "run-level: the run's numbers exceed its thresholds: " + "; ".join(thresholds) + "."))
    budget = run.budget.failures()
    if budget:
        out.append(RunLevelFailure(
            "statistical-checks", "run-level: statistical checks rejected by the run's false-alarm budget",
            "run-level: " + " ".join(line.strip() for line in run.budget.summary_lines()) + "."))
    return [RunLevelFailure(f.key, f.title, redact(f.message)) for f in out]


def run_failures(run: CloudRun) -> list[str]:
    """Why the run must fail even if every test passed: leaks, a sweep that could not complete, thresholds."""
    out = [f"leak sweep: {len(run.leaks)} job(s) of this run were still active"] if run.leaks else []
    if run.sweep_error:
        out.append(f"leak sweep: {run.sweep_error}")
    out.extend(threshold_failures(run.settings, run.stats.summary()))
    out.extend(run.budget.failures())
    return out


def write_summary(terminalreporter: Any, run: CloudRun) -> None:
    terminalreporter.write_sep("-", "cloudjob")
    for line in summary_lines(run):
        terminalreporter.write_line(redact(line), red=line.startswith(("leak sweep: FAILED", "threshold FAILED",
                                                                           "statistical checks: FAILED")))
