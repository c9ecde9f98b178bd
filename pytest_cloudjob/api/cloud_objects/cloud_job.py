"""The seed's ``Job``: one computational job on the cloud, and the admin calls over many jobs.

Names, constants, defaults and signatures are those of ``steps.api.cloud_objects.cloud_job.Job``.
What the seed got unsafe is fixed without changing a call: every ``Job`` gets its own copy of the
default payload, ``create_dict`` has no shared mutable default, and the default ``process_id`` is read
when a job is built (one id per client process, as in Perceval, which the plugin sets to the run id).
"""
from __future__ import annotations

import copy
import uuid
from collections.abc import Iterable
from typing import Any

from pytest_cloudjob import protocol
from pytest_cloudjob.api.client import Api, CloudContext, decode_json
from pytest_cloudjob.api.cloud_objects.cloud_base import ACloudObject
from pytest_cloudjob.api.cloud_objects.cloud_user import User
from pytest_cloudjob.api.errors import CloudApiError, JobNotCreatedError
from pytest_cloudjob.api.waiting import PollingPolicy, StatusHistory, wait_for
from pytest_cloudjob.reporting import attach_text, reported, step

_process_id = str(uuid.uuid4())


def default_process_id() -> str:
    """The ``process_id`` new jobs get: one per client process, as Perceval does."""
    return _process_id


def set_default_process_id(value: str) -> str:
    """Make ``value`` the ``process_id`` of jobs built from now on, and return the one it replaces.

    The plugin sets its run id for the run and puts the previous id back when the run ends, so no run's
    id outlives it (``pytester`` runs many sessions in one process).
    """
    global _process_id
    if not isinstance(value, str) or not value:
        raise ValueError("process_id must be a non-empty string")
    previous, _process_id = _process_id, value
    return previous


def _require_admin(user: Any, what: str) -> None:
    # An explicit raise, not ``assert``: ``python -O`` must not remove the check.
    if not getattr(user, "is_admin", False):
        raise AssertionError(f"Job.{what} needs an admin user, got {user!r}")


class Job(ACloudObject):
    """Job class representing a computational job in the cloud system."""

    JOB_NAME_KEY = "job_name"
    PLATFORM_NAME_KEY = "platform_name"
    PAYLOAD_KEY = "payload"
    PCVL_VERSION_KEY = "pcvl_version"
    PROCESS_ID_KEY = "process_id"
    DEFAULT_PAYLOAD: dict[str, Any] = {
        "command": "sample_count",
        "circuit": ":PCVL:ACircuit:{}",
        "input_state": ":PCVL:BasicState:|1,0>",
        "parameters": {},
        "max_shots": 1000,
    }
    DEFAULT_PLATFORM_NAME = "sim:qa"

    platform_name: str = "sim:qa"
    job_name: str = "qa_job"
    payload: dict[str, Any]
    pcvl_version: str = "0.12.0"
    process_id: str = ""
    job_id = ""

    def __init__(
        self,
        platform_name: str = DEFAULT_PLATFORM_NAME,
        job_name: str = "qa_job",
        payload: dict[str, Any] | None = None,
        pcvl_version: str = "0.12.0",
        process_id: str | None = None,
        job_id: str = "",
        **_: Any,
    ) -> None:
        self.platform_name = platform_name
        self.job_name = job_name
        self.payload = copy.deepcopy(self.DEFAULT_PAYLOAD if payload is None else payload)
        self.pcvl_version = pcvl_version
        self.process_id = default_process_id() if process_id is None else process_id
        self.job_id = job_id
        self.history = StatusHistory(job_id)
        for key, value in _.items():
            setattr(self, key, value)

    # -- the seed's class-level hooks -------------------------------------------------------------
    @classmethod
    def get_object_name(cls) -> str:
        return "job"

    @classmethod
    def get_endpoint(cls) -> str:
        return "job"

    @classmethod
    def get_api(cls, context: CloudContext) -> Api:
        return context.api

    @classmethod
    def get_token_method(cls) -> str:
        return "get_token"

    # -- one job --------------------------------------------------------------------------------
    def to_create_body(self, create_dict: dict[str, Any] | None = None) -> dict[str, Any]:
        """The JSON body of ``POST /api/job`` for this job, with ``create_dict`` merged over it."""
        body = {
            self.PLATFORM_NAME_KEY: self.platform_name,
            self.JOB_NAME_KEY: self.job_name,
            self.PAYLOAD_KEY: copy.deepcopy(self.payload),
            self.PCVL_VERSION_KEY: self.pcvl_version,
            self.PROCESS_ID_KEY: self.process_id,
        }
        body.update(create_dict or {})
        return body

    @reported("create job {self.job_name!r} on {self.platform_name}")
    def create(self, context: CloudContext, user: User, create_dict: dict[str, Any] | None = None) -> None:
        """Create this job in the cloud; sets ``job_id``. Never retried: a lost answer would duplicate it.

        Raises :class:`CloudApiError` (a ``RuntimeError``) if the call fails or the answer has no ``job_id``.
        """
        api = self.get_api(context)
        data = api.call_json("POST", "job_create", self.token_of(user), json_body=self.to_create_body(create_dict))
        job_id = data.get("job_id") if isinstance(data, dict) else None
        if not isinstance(job_id, str) or not job_id:
            raise CloudApiError("POST", context.path("job_create"), status=200, body=str(data)[:300],
                                kind="protocol", reason="create answered without a 'job_id' string")
        self.job_id = job_id
        self.history = StatusHistory(job_id)

    @reported("read job {self.job_id}")
    def read(self, context: CloudContext, user: User) -> dict[str, Any]:
        """The job's whole record as the cloud stores it."""
        return self._get("job_read", user, context)

    @reported("cancel job {self.job_id}")
    def cancel(self, context: CloudContext, user: User) -> dict[str, Any]:
        """Ask the cloud to cancel this job.

        A cancel is retried on transient errors; if a retry finds the job already cancelled (400 on
        an ended job whose status is ``canceled``), the first attempt did land and this counts as done.
        """
        self._require_id("cancel")
        api = self.get_api(context)
        try:
            response = api.call("POST", "job_cancel", self.token_of(user),
                                path_params={"job_id": self.job_id}, retry=True)
        except CloudApiError as exc:
            if exc.status == 400 and exc.attempts > 1 and self._status_is(context, user, protocol.CANCELED):
                return {}
            raise
        data = decode_json(response, "POST")
        return data if isinstance(data, dict) else {}

    @reported("status of job {self.job_id}")
    def get_status(self, context: CloudContext, user: User) -> dict[str, Any]:
        """The status body; every status seen is added to ``history`` and its transition checked."""
        body = self._get("job_status", user, context)
        self.history.job_id = self.job_id
        self.history.record(body)
        return body

    @reported("results of job {self.job_id}")
    def get_results(self, context: CloudContext, user: User) -> dict[str, Any]:
        """The results body: ``{"results": "<JSON text>"}`` (``null`` before the job completes)."""
        return self._get("job_result", user, context)

    @reported("rerun job {self.job_id}")
    def rerun(self, context: CloudContext, user: User) -> Job:
        """Rerun an ended (error or cancelled) job as a new job, returned. Never retried."""
        self._require_id("rerun")
        data = self.get_api(context).call_json("POST", "job_rerun", self.token_of(user),
                                               path_params={"job_id": self.job_id})
        new_id = data.get("job_id") if isinstance(data, dict) else None
        if not isinstance(new_id, str) or not new_id:
            raise CloudApiError("POST", context.path("job_rerun", job_id=self.job_id), status=200,
                                body=str(data)[:300], kind="protocol",
                                reason="rerun answered without a 'job_id' string")
        return Job(self.platform_name, self.job_name, self.payload, self.pcvl_version, self.process_id, new_id)

    def wait_until(
        self,
        context: CloudContext,
        user: User,
        statuses: Iterable[str] | str = protocol.TERMINAL_STATUSES,
        timeout: float = 60.0,
        policy: PollingPolicy | None = None,
    ) -> dict[str, Any]:
        """Poll until the job is in one of ``statuses``; return that status body.

        Raises ``WaitTimeoutError``, ``UnexpectedEndError`` or ``IllegalTransitionError`` (all
        ``JobWaitError``) naming the job, the statuses wanted and the whole history.
        """
        self._require_id("wait")
        wanted = {statuses} if isinstance(statuses, str) else set(statuses)
        with step(f"wait for job {self.job_id} until {' or '.join(sorted(wanted))} (timeout {timeout:g}s)",
                  summarise=True):
            try:
                return wait_for(lambda: self.get_status(context, user), wanted, timeout, self.history,
                                policy=policy or PollingPolicy())
            finally:
                attach_text(f"status history of job {self.job_id}", self.history.describe("\n"))

    # -- admin calls over many jobs ------------------------------------------------------------------
    @classmethod
    @reported("cancel many jobs (admin)")
    def cancel_many(cls, context: CloudContext, jobs: list[Job], admin: User) -> dict[str, Any]:
        """Cancel several jobs in one admin call; returns the cloud's outcome per job id.

        Raises ``AssertionError`` for a non-admin user (before any call) and :class:`CloudApiError`
        if the call fails.
        """
        _require_admin(admin, "cancel_many")
        ids = [job.job_id if isinstance(job, Job) else str(job) for job in jobs]
        data = cls.get_api(context).call_json("POST", "admin_cancel", cls.token_of(admin),
                                              json_body={"job_ids": ids}, retry=True)
        if isinstance(data, dict) and isinstance(data.get("results"), dict):
            return data["results"]
        return data if isinstance(data, dict) else {}

    @classmethod
    @reported("list all jobs (admin)")
    def list_all(cls, context: CloudContext, admin: User, **filters: str) -> list[Job]:
        """Every job the cloud has (narrowed by ``status``, ``platform_name``, ``process_id``, ``owner``).

        Raises ``AssertionError`` for a non-admin user and :class:`CloudApiError` if the call fails.
        """
        _require_admin(admin, "list_all")
        query = {k: v for k, v in filters.items() if v is not None}
        data = cls.get_api(context).call_json("GET", "admin_jobs", cls.token_of(admin), query=query, retry=True)
        records = data.get("jobs") if isinstance(data, dict) else data
        if not isinstance(records, list):
            raise CloudApiError("GET", context.path("admin_jobs"), status=200, body=str(data)[:300],
                                kind="protocol", reason="the job listing is not a list")
        return [cls.from_record(r) for r in records if isinstance(r, dict)]

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Job:
        """A ``Job`` built from a record of the listing or of ``read``; extra fields become attributes."""
        fields = dict(record)
        if "job_id" not in fields and "id" in fields:
            fields["job_id"] = fields["id"]
        return cls(**fields)

    # -- helpers --------------------------------------------------------------------------------------
    def _get(self, endpoint: str, user: User, context: CloudContext) -> dict[str, Any]:
        self._require_id(endpoint)
        data = self.get_api(context).call_json("GET", endpoint, self.token_of(user),
                                               path_params={"job_id": self.job_id}, retry=True)
        if not isinstance(data, dict):
            raise CloudApiError("GET", context.path(endpoint, job_id=self.job_id), status=200,
                                body=str(data)[:300], kind="protocol", reason="expected a JSON object")
        return data

    def _status_is(self, context: CloudContext, user: User, status: str) -> bool:
        try:
            return self.get_status(context, user).get("status") == status
        except RuntimeError:
            return False

    def _require_id(self, what: str) -> None:
        if not self.job_id:
            raise JobNotCreatedError(f"cannot {what.replace('job_', '')} a job that was never created (no job_id)")

    def __repr__(self) -> str:
        return f"Job(job_id={self.job_id!r}, platform_name={self.platform_name!r}, job_name={self.job_name!r})"
