"""Run-level performance gates: a platform's p95 time to finish and its status calls per job, checked
against ``--cloud-max-p95`` / ``--cloud-max-status-calls`` once the run's numbers are final."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pytest_cloudjob.run.settings import CloudSettings


def threshold_failures(settings: CloudSettings, rows: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """One line per threshold the run's numbers exceed, naming the platform, the value and the limit.

    A platform without the number (no job of it completed) is not judged: there is nothing to compare.
    """
    lines = []
    for platform, limit in sorted(settings.max_p95.items()):
        p95 = rows.get(platform, {}).get("p95")
        if p95 is not None and p95 > limit:
            lines.append(f"{platform}: p95 time to finish {p95:.2f}s exceeds the threshold {limit:g}s "
                         "(--cloud-max-p95 / CLOUDJOB_MAX_P95 / cloud_max_p95)")
    for platform, limit in sorted(settings.max_status_calls.items()):
        row = rows.get(platform, {})
        calls = row.get("calls_per_job")
        if row.get("created") and calls is not None and calls > limit:
            lines.append(f"{platform}: {calls:.1f} status calls per job exceeds the threshold {limit:g} "
                         "(--cloud-max-status-calls / CLOUDJOB_MAX_STATUS_CALLS / cloud_max_status_calls)")
    return lines
