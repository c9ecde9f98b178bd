"""The reference cloud's jobs and their state machine (docs/protocol.md, "State machine"), computed from timestamps.

A job's status is a function of the clock: it waits until ``start_at``, runs until ``end_at``, then
completes (or fails, for a command the cloud does not know). A cancel stamps the job; a platform that
runs one job at a time recomputes the start of the jobs queued behind it. The only work done in the
background is a simulated job's results (server/simulator.py, computed once, from its creation): such a
job stays ``running`` until they are ready, then completes, or ends in ``error`` with the failure's code,
so a status never leaves a terminal state and a results read never computes anything.
"""
from __future__ import annotations

import heapq
import math
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from pytest_cloudjob import protocol
from pytest_cloudjob.server.platforms import COMMANDS, PlatformModel
from pytest_cloudjob.server.results import unsimulated_results

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
    simulated: bool = False  # results come from the simulation worker, and the job ends once they are ready
    concurrent: bool = False  # another request arrived while its create was served (load-only defects)
    ready_at: float | None = None  # when a simulated job's results (or its failure) came back
    failure: tuple[str, str] | None = None  # (failure_code, status_message) of a simulation that failed

    @property
    def outcome(self) -> str:
        if self.failure is not None or self.payload.get("command") not in COMMANDS:
            return protocol.ERROR
        return protocol.COMPLETED

    def status_at(self, now: float) -> str:
        if self.canceled_at is not None and now >= self.canceled_at:
            return protocol.CANCELED
        if now < self.start_at:
            return protocol.WAITING
        if self.cancel_requested_at is not None:
            return protocol.CANCEL_REQUESTED
        if now < self.end_at or (self.simulated and (self.ready_at is None or now < self.ready_at)):
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
        code, message = self.failure or ("UNKNOWN_COMMAND", f"unknown command {self.payload.get('command')!r}")
        simulating = status == protocol.RUNNING and now >= self.end_at
        return {
            "status": status,
            "progress": round(min(progress, 0.99) if simulating else progress, 4),
            "progress_message": "simulating" if simulating else
            {protocol.WAITING: "queued", protocol.RUNNING: "sampling"}.get(status, ""),
            "status_message": message if failed else "",
            "failure_code": code if failed else None,
            "creation_datetime": self.created_at,
            "start_time": self.start_at if started else None,
            "duration": int(round(ended_at - self.created_at)) if ended_at is not None else None,
        }

    def ended_at(self, now: float) -> float | None:
        if self.canceled_at is not None and now >= self.canceled_at:
            return self.canceled_at
        if self.cancel_requested_at is None and now >= self.end_at and now >= self.start_at:
            if not self.simulated:
                return self.end_at
            if self.ready_at is not None and now >= self.ready_at:
                return max(self.end_at, self.ready_at)
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
    """Every job of the reference cloud, in creation order.

    Memory is bounded by ended jobs only: the ``max_finished`` most recently ended are always kept, and
    ended jobs beyond ``max_finished`` plus a quarter are evicted, those that ended first going first.
    Active jobs are never evicted: a client polling a job that just completed must still find it.
    """

    def __init__(self, platforms: dict[str, PlatformModel], *, seed: int = 0, max_finished: int = 10_000,
                 clock: Callable[[], float] = time.time, defects: frozenset[str] = frozenset(),
                 on_created: Callable[[StoredJob], None] | None = None) -> None:
        self.platforms = platforms
        self.seed = seed
        self.defects = defects  # the physics defects among them change the results (server/results.py)
        self.max_finished = max_finished
        self.clock = clock
        self.on_created = on_created  # the app starts a simulated job's results there (server/app.py)
        self.jobs: OrderedDict[str, StoredJob] = OrderedDict()
        self.evicted = 0
        self._next_eviction_at = max_finished + 1  # jobs stored before the next eviction sweep
        # per one-at-a-time platform: min-heap of the `concurrency` latest slot ends scheduled so far
        self._latest_ends: dict[str, list[float]] = {}
        self._last_id = ""  # load-only defect create-id-race: the id the last create got

    # -- creating ----------------------------------------------------------------------------------------
    def create(self, owner: str, platform: PlatformModel, body: dict[str, Any], rerun_of: str | None = None,
               simulated: bool = False, concurrent: bool = False) -> StoredJob:
        """Store a new job; ``simulated``: its results come from a simulation (server/results.py ``assess``);
        ``concurrent``: another request arrived while this create was served, which only concurrent clients cause."""
        now = self.clock()
        start = now + platform.queue_delay
        if platform.concurrency is not None:
            start = self._next_start(platform, start)
        known = {"platform_name", "job_name", "pcvl_version", "process_id", "payload"}
        job_id = str(uuid.uuid4())
        if "create-id-race" in self.defects and concurrent and self._last_id:
            job_id = self._last_id  # an unlocked id allocator: concurrent creates share one id, the last overwrites
        self._last_id = job_id
        job = StoredJob(
            job_id=job_id, owner=owner, platform=platform,
            job_name=body.get("job_name") or "job", pcvl_version=body.get("pcvl_version") or "",
            process_id=body.get("process_id") or "", payload=body["payload"],
            extra={k: v for k, v in body.items() if k not in known and k not in _RESERVED},
            created_at=now, start_at=start, end_at=start + platform.run_time, rerun_of=rerun_of, simulated=simulated,
            concurrent=concurrent,
        )
        self.jobs[job.job_id] = job
        if self.on_created is not None:
            self.on_created(job)
        self._evict(now)
        return job

    def rerun(self, job: StoredJob) -> StoredJob:
        body = {"job_name": job.job_name, "pcvl_version": job.pcvl_version, "process_id": job.process_id,
                "payload": job.payload, **job.extra}
        return self.create(job.owner, job.platform, body, rerun_of=job.job_id, simulated=job.simulated)

    # -- reading -------------------------------------------------------------------------------------------
    def get(self, job_id: str, owner: str | None) -> StoredJob | None:
        """The job, if it exists and ``owner`` may see it (``None`` means an admin, who sees all)."""
        job = self.jobs.get(job_id)
        if job is None or (owner is not None and job.owner != owner):
            return None
        return job

    def active_count(self, owner: str) -> int:
        """How many of ``owner``'s jobs have not ended (``num_jobs_in_queue`` of the availability call)."""
        now = self.clock()
        return sum(1 for job in self.jobs.values()
                   if job.owner == owner and job.status_at(now) not in protocol.TERMINAL_STATUSES)

    def results(self, job: StoredJob) -> str | None:
        """A completed job's results text: a simulated job's were computed before it completed; the others'
        (a known experiment, sampled from its precomputed distribution, or no experiment Perceval can read:
        invented) are made on first read and kept."""
        if job.status_at(self.clock()) != protocol.COMPLETED:
            return None
        if job.results_text is None and not job.simulated:  # on the event loop: milliseconds, no Perceval
            job.results_text = unsimulated_results(job.payload, self.seed, job.rerun_of or job.job_id,
                                                   job.platform.details(), self.defects)
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
            if job.concurrent and "list-same-millisecond" in self.defects:
                continue  # load-only defect: a job created alongside another create is left out of listings
            out.append(job.record(now))
        return out

    # -- cancelling ---------------------------------------------------------------------------------------
    def cancel(self, job: StoredJob, *, reschedule: bool = True) -> tuple[str, str]:
        """Cancel ``job`` if it is still active; return its status before and after the call.

        A waiting job is cancelled at once; a running one goes through ``cancel_requested``. An ended
        job (or one already being cancelled) is left alone, ``before == after``. ``reschedule=False``
        leaves the queue of a one-at-a-time platform to the caller (cancel-many reschedules once).
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
        if reschedule and job.platform.concurrency is not None:
            self._reschedule(job.platform, now)
        return before, job.status_at(now)

    def cancel_many(self, job_ids: Iterable[str]) -> dict[str, str]:
        """One outcome per id: ``canceled``, ``cancel_requested``, ``already_<status>`` or ``not_found``.

        Linear in the ids and the stored jobs: each queue is rescheduled once, after every cancel.
        """
        outcomes: dict[str, str] = {}
        queues: dict[str, PlatformModel] = {}
        for job_id in job_ids:
            job = self.jobs.get(job_id)
            if job is None:
                outcomes[job_id] = "not_found"
                continue
            before, after = self.cancel(job, reschedule=False)
            outcomes[job_id] = f"already_{before}" if before == after else after
            if before != after and job.platform.concurrency is not None:
                queues[job.platform.name] = job.platform
        now = self.clock()
        for platform in queues.values():
            self._reschedule(platform, now)
        return outcomes

    # -- the queue of one-at-a-time platforms ----------------------------------------------------------------
    def _busy_until(self, job: StoredJob) -> float:
        """When ``job`` frees its slot: its end, or its cancellation."""
        return job.canceled_at if job.canceled_at is not None else job.end_at

    def _holds_a_slot(self, job: StoredJob) -> bool:
        """Whether ``job`` is (or was) scheduled on its platform: not moved off the queue, not cancelled before it started."""
        return math.isfinite(job.start_at) and (job.canceled_at is None or job.start_at < job.canceled_at)

    def _next_start(self, platform: PlatformModel, ready: float) -> float:
        """When a new job ready at ``ready`` starts (first come, first served), its slot booked: O(log concurrency)."""
        latest = self._latest_ends.setdefault(platform.name, [])
        slots = platform.concurrency or 1
        start = latest[0] if len(latest) == slots and latest[0] > ready else ready
        _keep_latest(latest, start + platform.run_time, slots)
        return start

    def _reschedule(self, platform: PlatformModel, now: float) -> None:
        """After cancels, move the still-waiting jobs of ``platform`` forward into the freed slots, in order.

        One pass over the jobs: a min-heap keeps the ``concurrency`` latest ends scheduled so far; a job
        starts when it is ready, or when the earliest of those ends if every slot is taken.
        """
        slots = platform.concurrency or 1
        mine = [j for j in self.jobs.values() if j.platform is platform]
        queued = [j for j in mine if j.canceled_at is None and j.start_at > now]
        waiting = {id(j) for j in queued}
        latest: list[float] = []  # min-heap of the `slots` latest ends among the jobs that keep their place
        for job in mine:
            if id(job) not in waiting and self._holds_a_slot(job) and self._busy_until(job) > now:
                _keep_latest(latest, self._busy_until(job), slots)
        for job in queued:  # creation order: a queue is first come, first served
            ready = max(now, job.created_at + platform.queue_delay)
            full = len(latest) == slots and latest[0] > ready
            job.start_at = latest[0] if full else ready
            job.end_at = job.start_at + platform.run_time
            _keep_latest(latest, job.end_at, slots)
        self._latest_ends[platform.name] = latest

    # -- memory ----------------------------------------------------------------------------------------------
    def _evict(self, now: float) -> None:
        """Drop the ended jobs that ended first, keeping the ``max_finished`` latest; active jobs stay.

        A sweep costs one pass over the jobs, so it runs only when a quarter of ``max_finished`` more
        jobs are stored than after the last one: creates stay O(1) amortized.
        """
        if len(self.jobs) < self._next_eviction_at:
            return
        ended = [(at, job_id) for job_id, job in self.jobs.items() if (at := job.ended_at(now)) is not None]
        excess = len(ended) - self.max_finished
        if excess > 0:
            for _, job_id in heapq.nsmallest(excess, ended):
                del self.jobs[job_id]
            self.evicted += excess
        self._next_eviction_at = len(self.jobs) + max(1, self.max_finished // 4)


def _keep_latest(heap: list[float], value: float, size: int) -> None:
    """Push ``value`` into the min-heap ``heap``, keeping only its ``size`` largest values."""
    if len(heap) < size:
        heapq.heappush(heap, value)
    elif value > heap[0]:
        heapq.heapreplace(heap, value)


_RESERVED = {"job_id", "owner", "status", "progress", "progress_message", "status_message", "failure_code",
             "creation_datetime", "start_time", "duration", "rerun_of"}
