"""The ``cloudjob`` section of the terminal summary: target, per-platform numbers, the leak sweep."""
from __future__ import annotations

from collections import Counter
from typing import Any

from pytest_cloudjob.redaction import redact
from pytest_cloudjob.target import CloudRun


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}s"


def summary_lines(run: CloudRun) -> list[str]:
    target = f"embedded reference cloud {run.url} (log: {run.log_path})" if run.log_path else str(run.url)
    lines = [f"target: {target}", f"run id: {run.run_id}"]
    rows = run.stats.summary()
    leaks_by_platform = Counter(platform for _, platform, _, _ in run.leaks)
    header = f"{'platform':<12} {'created':>7} {'completed':>9} {'failed':>6} {'canceled':>8} " \
             f"{'p50':>7} {'p95':>7} {'status/job':>10} {'leaked':>6}"
    lines.append(header)
    for platform in sorted(set(rows) | set(leaks_by_platform)):
        row = rows.get(platform, {"created": 0, "completed": 0, "failed": 0, "canceled": 0, "p50": None,
                                  "p95": None, "calls_per_job": 0.0})
        lines.append(f"{platform:<12} {row['created']:>7} {row['completed']:>9} {row['failed']:>6} "
                     f"{row['canceled']:>8} {_seconds(row['p50']):>7} {_seconds(row['p95']):>7} "
                     f"{row['calls_per_job']:>10.1f} {leaks_by_platform.get(platform, 0):>6}")
    if run.sweep_error:
        lines.append(f"leak sweep: {run.sweep_error}")
    elif run.leaks:
        lines.append(f"leak sweep: FAILED, {len(run.leaks)} job(s) of this run were still active and were "
                     "cancelled:")
        lines.extend(f"  {job_id} ({platform}, {status}) made by {test}" for job_id, platform, status, test in run.leaks)
    else:
        lines.append(f"leak sweep: {run.swept} job(s) of this run listed, 0 leaked")
    return lines


def write_summary(terminalreporter: Any, run: CloudRun) -> None:
    terminalreporter.write_sep("-", "cloudjob")
    for line in summary_lines(run):
        terminalreporter.write_line(redact(line), red=line.startswith("leak sweep: FAILED"))
