"""The reference cloud's jobs and their state machine (DESIGN.md §3), computed from timestamps.

A job's status is a function of the clock: it waits until ``start_at``, runs until ``end_at``, then
completes (or fails, for a command the cloud does not know). A cancel stamps the job; a platform that
runs one job at a time recomputes the start of the jobs queued behind it. Nothing runs in the
background, so nothing can race, and a status never leaves a terminal state.
"""
from __future__ import annotations

import itertools
import math
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from pytest_cloudjob import protocol
from pytest_cloudjob.server.platforms import COMMANDS, PlatformModel
from pytest_cloudjob.server.results import make_results

CANCEL_DELAY = 0.05  # seconds a running job spends in cancel_requested


@dataclass
class StoredJob:
    job_id: str
    owner: str
    platform: PlatformModel
    job_name: str
    pcvl_version: str
    process_id: str
    payload: dict[str, Any]
    extra: dict[str, Any]
    created_at: float
    start_at: float
    end_at: float
    rerun_of: str | None = None
    canceled_at: float | None = None
    cancel_requested_at: float | None = None
    results_text: str | None = field(default=None, repr=False)

    @property
    def outcome(self) -> str:
        return protocol.COMPLETED if self.payload.get("command") in COMMANDS else protocol.ERROR

    def status_at(self, now: float) -> str:
        if self.canceled_at is not None and now >= self.canceled_at:
            return protocol.CANCELED
        if now < self.start_at:
            return protocol.WAITING
        if self.cancel_requested_at is not None:
            return protocol.CANCEL_REQUESTED
        if now < self.end_at:
            return protocol.RUNNING
        return self.outcome

    def status_body(self, now: float) -> dict[str, Any]:
        """The body of ``GET /api/job/status/<id>``, as Perceval reads it."""
        status = self.status_at(now)
        started = status != protocol.WAITING and self.start_at <= now
        run_time = self.end_at - self.start_at
        if status == protocol.COMPLETED:
            progress = 1.0
        elif status in (protocol.RUNNING, protocol.CANCEL_REQUESTED) and run_time > 0:
            progress = min(1.0, max(0.0, (now - self.start_at) / run_time))
        else:
            progress = 0.0
        ended_at = self.ended_at(now)
        failed = status == protocol.ERROR
        return {
            "status": status,
            "progress": round(progress, 4),
            "progress_message": {protocol.WAITING: "queued", protocol.RUNNING: "sampling"}.get(status, ""),
            "status_message": f"unknown command {self.payload.get('command')!r}" if failed else "",
            "failure_code": "UNKNOWN_COMMAND" if failed else None,
            "creation_datetime": self.created_at,
            "start_time": self.start_at if started else None,
            "duration": int(round(ended_at - self.created_at)) if ended_at is not None else None,
        }

    def ended_at(self, now: float) -> float | None:
        if self.canceled_at is not None and now >= self.canceled_at:
            return self.canceled_at
        if self.cancel_requested_at is None and now >= self.end_at and now >= self.start_at:
            return self.end_at
        return None

    def record(self, now: float) -> dict[str, Any]:
        """The whole job as ``GET /api/job/<id>`` and the admin listing show it."""
        return {
            "job_id": self.job_id,
            "owner": self.owner,
            "platform_name": self.platform.name,
            "job_name": self.job_name,
            "pcvl_version": self.pcvl_version,
            "process_id": self.process_id,
            "payload": self.payload,
            **self.extra,
            **self.status_body(now),
            "rerun_of": self.rerun_of,
        }


class JobStore:
    """Every job of the reference cloud, in creation order, bounded by ``max_finished`` ended jobs."""

    def __init__(self, platforms: dict[str, PlatformModel], *, seed: int = 0, max_finished: int = 10_000,
                 clock: Callable[[], float] = time.time) -> None:
        self.platforms = platforms
        self.seed = seed
        self.max_finished = max_finished
        self.clock = clock
        self.jobs: OrderedDict[str, StoredJob] = OrderedDict()
        self.evicted = 0

    # -- creating ----------------------------------------------------------------------------------------
    def create(self, owner: str, platform: PlatformModel, body: dict[str, Any], rerun_of: str | None = None) -> StoredJob:
        now = self.clock()
        start = now + platform.queue_delay
        if platform.concurrency is not None:
            start = max(start, self._slot_free_at(platform, start))
        known = {"platform_name", "job_name", "pcvl_version", "process_id", "payload"}
        job = StoredJob(
            job_id=str(uuid.uuid4()), owner=owner, platform=platform,
            job_name=body.get("job_name") or "job", pcvl_version=body.get("pcvl_version") or "",
            process_id=body.get("process_id") or "", payload=body["payload"],
            extra={k: v for k, v in body.items() if k not in known and k not in _RESERVED},
            created_at=now, start_at=start, end_at=start + platform.run_time, rerun_of=rerun_of,
        )
        self.jobs[job.job_id] = job
        self._evict(now)
        return job

    def rerun(self, job: StoredJob) -> StoredJob:
        body = {"job_name": job.job_name, "pcvl_version": job.pcvl_version, "process_id": job.process_id,
                "payload": job.payload, **job.extra}
        return self.create(job.owner, job.platform, body, rerun_of=job.job_id)

    # -- reading -------------------------------------------------------------------------------------------
    def get(self, job_id: str, owner: str | None) -> StoredJob | None:
        """The job, if it exists and ``owner`` may see it (``None`` means an admin, who sees all)."""
        job = self.jobs.get(job_id)
        if job is None or (owner is not None and job.owner != owner):
            return None
        return job

    def results(self, job: StoredJob) -> str | None:
        if job.status_at(self.clock()) != protocol.COMPLETED:
            return None
        if job.results_text is None:
            job.results_text = make_results(job.payload, self.seed, job.rerun_of or job.job_id)
        return job.results_text

    def select(self, *, status: str | None = None, platform_name: str | None = None,
               process_id: str | None = None, owner: str | None = None) -> list[dict[str, Any]]:
        """Records of the jobs matching every filter given, in creation order."""
        now = self.clock()
        out = []
        for job in self.jobs.values():
            if platform_name is not None and job.platform.name != platform_name:
                continue
            if process_id is not None and job.process_id != process_id:
                continue
            if owner is not None and job.owner != owner:
                continue
            if status is not None and job.status_at(now) != status:
                continue
            out.append(job.record(now))
        return out

    # -- cancelling ---------------------------------------------------------------------------------------
    def cancel(self, job: StoredJob) -> tuple[str, str]:
        """Cancel ``job`` if it is still active; return its status before and after the call.

        A waiting job is cancelled at once; a running one goes through ``cancel_requested``. An ended
        job (or one already being cancelled) is left alone, ``before == after``.
        """
        now = self.clock()
        before = job.status_at(now)
        if before in protocol.TERMINAL_STATUSES or before == protocol.CANCEL_REQUESTED:
            return before, before
        if before == protocol.WAITING:
            job.canceled_at = now
        else:
            job.cancel_requested_at = now
            job.canceled_at = now + CANCEL_DELAY
        if job.platform.concurrency is not None:
            self._reschedule(job.platform, now)
        return before, job.status_at(now)

    def cancel_many(self, job_ids: Iterable[str]) -> dict[str, str]:
        """One outcome per id: ``canceled``, ``cancel_requested``, ``already_<status>`` or ``not_found``."""
        outcomes: dict[str, str] = {}
        for job_id in job_ids:
            job = self.jobs.get(job_id)
            if job is None:
                outcomes[job_id] = "not_found"
                continue
            before, after = self.cancel(job)
            outcomes[job_id] = f"already_{before}" if before == after else after
        return outcomes

    # -- the queue of one-at-a-time platforms ----------------------------------------------------------------
    def _busy_until(self, job: StoredJob) -> float:
        """When ``job`` frees its slot: its end, or its cancellation."""
        return job.canceled_at if job.canceled_at is not None else job.end_at

    def _slot_free_at(self, platform: PlatformModel, ready: float) -> float:
        ends = sorted(self._busy_until(j) for j in self.jobs.values()
                      if j.platform is platform and math.isfinite(j.start_at)
                      and self._busy_until(j) > ready
                      and (j.canceled_at is None or j.start_at < j.canceled_at))
        slots = platform.concurrency or 1
        return ready if len(ends) < slots else ends[len(ends) - slots]

    def _reschedule(self, platform: PlatformModel, now: float) -> None:
        """After a cancel, move the still-waiting jobs of ``platform`` forward into the freed slot."""
        queued = [j for j in self.jobs.values()
                  if j.platform is platform and j.canceled_at is None and j.start_at > now]
        for job in queued:
            job.start_at = job.end_at = math.inf
        for job in queued:
            ready = max(now, job.created_at + platform.queue_delay)
            job.start_at = max(ready, self._slot_free_at(platform, ready))
            job.end_at = job.start_at + platform.run_time

    # -- memory ----------------------------------------------------------------------------------------------
    def _evict(self, now: float) -> None:
        """Drop the oldest ended jobs while more than ``max_finished`` jobs are stored; active jobs stay."""
        excess = len(self.jobs) - self.max_finished
        if excess <= 0:
            return
        for job_id in list(itertools.islice(self.jobs, excess * 2 + 16)):
            if excess <= 0:
                break
            if self.jobs[job_id].ended_at(now) is not None:
                del self.jobs[job_id]
                self.evicted += 1
                excess -= 1


_RESERVED = {"job_id", "owner", "status", "progress", "progress_message", "status_message", "failure_code",
             "creation_datetime", "start_time", "duration", "rerun_of"}
