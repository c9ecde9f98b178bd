"""What a load run counts beside Locust's request statistics: jobs per platform (created, completed, failed,
canceled) and scenario runs (passed, failed, skipped), read from the client's call records.

Each worker counts its own and sends what is new with every Locust report to the master, which adds
them up (Locust's ``report_to_master`` / ``worker_report`` events), so the master's totals are the run's.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from pytest_cloudjob import protocol
from pytest_cloudjob.api.records import CallRecord

JOB_KINDS = ("created", "completed", "failed", "canceled")
RUN_KINDS = ("passed", "failed", "skipped")
#: The key of the tally in the data a worker reports to the master.
REPORT_KEY = "pytest_cloudjob"
#: How many failure texts a run keeps whole, for the summary and the Allure result.
KEPT_FAILURES = 20
_ENDS = {protocol.COMPLETED: "completed", protocol.ERROR: "failed", protocol.CANCELED: "canceled"}


class Tally:
    """Counts by platform; :meth:`take` hands over (and forgets) what was counted since the last take."""

    def __init__(self) -> None:
        self.jobs: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self.runs: Counter[str] = Counter()
        self.failures: list[str] = []  # the first failure texts, whole
        self._platform_of: dict[str, str] = {}  # job id -> platform, for jobs this process made
        self._ended: set[str] = set()

    def on_call(self, record: CallRecord, platform: str) -> None:
        if record.status != 200:
            return
        body = record.response_json
        if record.endpoint in ("job_create", "job_rerun") and isinstance(body, dict) and isinstance(body.get("job_id"), str):
            sent = record.request_body if isinstance(record.request_body, dict) else {}
            origin = self._platform_of.get(str(record.path_params.get("job_id", "")), platform)
            where = str(sent.get("platform_name", origin)) if record.endpoint == "job_create" else origin
            self._platform_of[body["job_id"]] = where
            self.jobs[where]["created"] += 1
        elif record.endpoint == "job_status" and isinstance(body, dict):
            self._end(str(record.path_params.get("job_id", "")), _ENDS.get(str(body.get("status"))))
        elif record.endpoint == "job_cancel":  # accepted: the job ends canceled (a clean-up's cancel too)
            self._end(str(record.path_params.get("job_id", "")), "canceled")
        elif record.endpoint == "admin_cancel" and isinstance(body, dict):
            outcomes = body.get("results", body)
            for job_id, outcome in (outcomes.items() if isinstance(outcomes, dict) else ()):
                if outcome in (protocol.CANCELED, protocol.CANCEL_REQUESTED):
                    self._end(str(job_id), "canceled")

    def _end(self, job_id: str, end: str | None) -> None:
        """``job_id`` (one this process made) ended as ``end``, counted once, the first end seen."""
        if end and job_id in self._platform_of and job_id not in self._ended:
            self._ended.add(job_id)
            self.jobs[self._platform_of[job_id]][end] += 1

    def keep_failure(self, text: str) -> None:
        if len(self.failures) < KEPT_FAILURES:
            self.failures.append(text)

    def take(self) -> dict[str, Any]:
        """What was counted since the last take, as plain data (it travels to the master)."""
        data = {"jobs": {p: dict(c) for p, c in self.jobs.items()}, "runs": dict(self.runs),
                "failures": list(self.failures)}
        self.jobs.clear()
        self.runs.clear()
        self.failures.clear()
        return data

    def merge(self, data: dict[str, Any]) -> None:
        for platform, counts in data.get("jobs", {}).items():
            self.jobs[platform].update(counts)
        self.runs.update(data.get("runs", {}))
        for text in data.get("failures", []):
            self.keep_failure(text)

    def total(self, kind: str) -> int:
        return sum(c[kind] for c in self.jobs.values())
