"""What the run did to the cloud, per platform: jobs created and how they ended, time to finish,
status calls per job. Fed by the client's call records, so Python tests and scenarios count alike;
plain data, so xdist workers can send theirs to the controller."""
from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from typing import Any

from pytest_cloudjob import protocol
from pytest_cloudjob.api.client import CallRecord


@dataclass
class JobTrace:
    platform: str
    created_at: float
    test: str
    status_calls: int = 0
    outcome: str | None = None
    finished_after: float | None = None


@dataclass
class RunStats:
    """Every job this process created, keyed by job id."""

    jobs: dict[str, JobTrace] = field(default_factory=dict)
    current_test: str = ""

    def on_call(self, record: CallRecord) -> None:
        """An :class:`~pytest_cloudjob.api.client.Api` listener."""
        if record.status != 200:
            return
        if record.endpoint in ("job_create", "job_rerun"):
            body = record.response_json
            job_id = body.get("job_id") if isinstance(body, dict) else None
            if isinstance(job_id, str):
                platform = (record.request_body or {}).get("platform_name") if record.endpoint == "job_create" else \
                    self.jobs.get(record.path_params.get("job_id", ""), JobTrace("?", 0, "")).platform
                self.jobs[job_id] = JobTrace(str(platform), time.time(), self.current_test)
        elif record.endpoint == "job_status":
            trace = self.jobs.get(record.path_params.get("job_id", ""))
            if trace is None:
                return
            trace.status_calls += 1
            body = record.response_json
            status = body.get("status") if isinstance(body, dict) else None
            if trace.outcome is None and status in protocol.TERMINAL_STATUSES:
                trace.outcome = status
                trace.finished_after = time.time() - trace.created_at

    def to_data(self) -> list[dict[str, Any]]:
        return [{"job_id": k, **vars(v)} for k, v in self.jobs.items()]

    def merge(self, data: list[dict[str, Any]]) -> None:
        for item in data:
            fields = dict(item)
            job_id = fields.pop("job_id")
            self.jobs[job_id] = JobTrace(**fields)

    def summary(self) -> dict[str, dict[str, Any]]:
        """Per platform: created, completed, failed, canceled, unended (so the four add up to created),
        p50/p95 time to finish, status calls per job."""
        out: dict[str, dict[str, Any]] = {}
        for trace in self.jobs.values():
            row = out.setdefault(trace.platform, {"created": 0, "completed": 0, "failed": 0, "canceled": 0,
                                                  "times": [], "status_calls": 0})
            row["created"] += 1
            row["status_calls"] += trace.status_calls
            if trace.outcome == protocol.COMPLETED:
                row["completed"] += 1
                if trace.finished_after is not None:  # None: its end was only seen in the sweep's listing
                    row["times"].append(trace.finished_after)
            elif trace.outcome == protocol.ERROR:
                row["failed"] += 1
            elif trace.outcome == protocol.CANCELED:
                row["canceled"] += 1
        for row in out.values():
            row["unended"] = row["created"] - row["completed"] - row["failed"] - row["canceled"]
            times = sorted(row.pop("times"))
            row["p50"] = statistics.median(times) if times else None
            row["p95"] = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))] if times else None
            row["calls_per_job"] = row["status_calls"] / row["created"] if row["created"] else 0.0
        return out

    def test_of(self, job_id: str, unknown: str = "?") -> str:
        trace = self.jobs.get(job_id)
        return trace.test if trace else unknown
