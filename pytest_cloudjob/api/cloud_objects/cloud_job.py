"""The seed's ``Job``: one computational job on the cloud, and the admin calls over many jobs.

Names, constants, defaults and signatures are those of ``steps.api.cloud_objects.cloud_job.Job``.
What the seed got unsafe is fixed without changing a call: every ``Job`` gets its own copy of the
default payload, ``create_dict`` has no shared mutable default, the default ``process_id`` is read
when a job is built (one id per client process, as in Perceval, which the plugin sets to the run id), a
misspelt field (``platfrom_name``) is an error with a suggestion instead of a job on the default platform,
and a listing record with any field names (``self``, ``__class__``, ``create``) builds a job safely.
"""
from __future__ import annotations

import copy
import time
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from pytest_cloudjob import protocol
from pytest_cloudjob.api.client import CloudContext, calls_end_by, decode_json
from pytest_cloudjob.api.cloud_objects.cloud_base import ACloudObject
from pytest_cloudjob.api.cloud_objects.cloud_user import User
from pytest_cloudjob.api.cloud_objects.job_fields import (
    FIELDS,
    as_status,
    decode_results,
    is_safe_attribute,
    refuse_typo,
    split_record,
)
from pytest_cloudjob.api.errors import CloudApiError, JobNotCreatedError, excerpt
from pytest_cloudjob.api.records import attach_text, reported, step
from pytest_cloudjob.api.waiting import PollingPolicy, ResultsNotReadyError, StatusHistory, wait_for

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


#: ``wait_until``'s default: the terminal statuses in a fixed order, so its signature (docs/api.md) reads the same
#: in every process (a frozenset's order follows the string hash seed).
_TERMINAL = tuple(sorted(protocol.TERMINAL_STATUSES))


def _require_admin(user: Any, what: str) -> None:
    # An explicit raise, not ``assert``: ``python -O`` must not remove the check.
    __tracebackhide__ = True
    if not getattr(user, "is_admin", False):
        raise AssertionError(f"Job.{what} needs an admin user, got {user!r}")


class Job(ACloudObject):
    """Job class representing a computational job in the cloud system."""

    JOB_NAME_KEY = "job_name"
    PLATFORM_NAME_KEY = "platform_name"
    PAYLOAD_KEY = "payload"
    PCVL_VERSION_KEY = "pcvl_version"
    PROCESS_ID_KEY = "process_id"
    #: A real experiment, as Perceval 1.3's ``RemoteProcessor`` sends one (``payload.experiment``, its
    #: ``serialize`` of ``pcvl.Experiment(pcvl.BS())`` with input ``|1,0>`` and ``min_detected_photons`` 1),
    #: written out so the client needs no Perceval: every job any Perceval cloud can run. The seed's
    #: ``:PCVL:ACircuit:{}`` placeholder held no circuit a Perceval cloud reads (issue 20).
    DEFAULT_EXPERIMENT = (
        ":PCVL:zip:eJxVyk0LgjAcgPEP5GUmRew2/86ayXSlm/NWMVz5wkgh+/Z1Kem5PfDDOcgU09mZx603w4TB6k1JuSoiB7riTvsc6erYZcNzTiPi0cbFZh"
        "92176barVGzNKvF5eAo3Ilx1pxlLUETvdRkJ4FtGmTHfhU5qP1iu0ZREt+AUtALHv42OXI68/GJHwD1FA2jQ==")
    DEFAULT_PAYLOAD: dict[str, Any] = {
        "command": "sample_count",
        "experiment": DEFAULT_EXPERIMENT,
        "parameters": {},
        "max_shots": 1000,
    }
    # The seed's defaults, written once: the constructor, the job factory and the settings read them here.
    DEFAULT_PLATFORM_NAME = "sim:qa"
    DEFAULT_JOB_NAME = "qa_job"
    DEFAULT_PCVL_VERSION = "0.12.0"

    platform_name: str = DEFAULT_PLATFORM_NAME
    job_name: str = DEFAULT_JOB_NAME
    payload: dict[str, Any]
    pcvl_version: str = DEFAULT_PCVL_VERSION
    process_id: str = ""
    job_id = ""
    #: The status in the record this job was built from (``list_all``, ``from_record``); ``None`` for a job
    #: built here. The live status is ``get_status()`` and ``history.last``.
    status: str | None = None
    #: Every field beyond the known ones, as given (a record's ``owner``, ``creation_datetime``...). Those
    #: whose names are plain identifiers that no ``Job`` attribute or method uses are attributes too.
    extra: dict[str, Any]

    def __init__(
        self,
        platform_name: str = DEFAULT_PLATFORM_NAME,
        job_name: str = DEFAULT_JOB_NAME,
        payload: dict[str, Any] | None = None,
        pcvl_version: str = DEFAULT_PCVL_VERSION,
        process_id: str | None = None,
        job_id: str = "",
        **_: Any,
    ) -> None:
        __tracebackhide__ = True
        for key in _:
            refuse_typo(key)
        self.platform_name = platform_name
        self.job_name = job_name
        self.payload = copy.deepcopy(self.DEFAULT_PAYLOAD if payload is None else payload)
        self.pcvl_version = pcvl_version
        self.process_id = default_process_id() if process_id is None else process_id
        self.job_id = job_id
        self.history = StatusHistory(job_id)
        self.extra = {}
        self._keep_extras(_)

    def _keep_extras(self, fields: Mapping[Any, Any]) -> None:
        """Keep every extra field in ``extra``; as an attribute too only when that can shadow nothing."""
        for key, value in fields.items():
            if key == "status":
                self.status = as_status(value)
            self.extra[key] = value
            if is_safe_attribute(key, type(self)):
                setattr(self, key, value)

    # -- the seed's class-level hooks -------------------------------------------------------------
    @classmethod
    def get_object_name(cls) -> str:
        return "job"

    @classmethod
    def get_endpoint(cls) -> str:
        return "job"

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
        __tracebackhide__ = True
        api = self.get_api(context)
        data = api.call_json("POST", "job_create", self.token_of(user), json_body=self.to_create_body(create_dict))
        job_id = data.get("job_id") if isinstance(data, dict) else None
        if not isinstance(job_id, str) or not job_id:
            raise CloudApiError("POST", context.path("job_create"), status=200, body=excerpt(data),
                                kind="protocol", reason="create answered without a 'job_id' string")
        self.job_id = job_id
        self.history = StatusHistory(job_id)

    @reported("read job {self.job_id}")
    def read(self, context: CloudContext, user: User) -> dict[str, Any]:
        """The job's whole record as the cloud stores it."""
        __tracebackhide__ = True
        return self._get("job_read", user, context)

    @reported("cancel job {self.job_id}")
    def cancel(self, context: CloudContext, user: User) -> dict[str, Any]:
        """Ask the cloud to cancel this job.

        A cancel is retried on transient errors; if a retry finds the job already cancelled (400 on
        an ended job whose status is ``canceled``), the first attempt did land and this counts as done.
        """
        __tracebackhide__ = True
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
        __tracebackhide__ = True
        body = self._get("job_status", user, context)
        self.history.job_id = self.job_id
        self.history.record(body)
        return body

    @reported("results of job {self.job_id}")
    def get_results(self, context: CloudContext, user: User) -> dict[str, Any]:
        """The results body as the cloud sends it: ``{"results": "<JSON text>"}``, ``results`` ``null`` before the
        job completes; other fields are kept (the reference cloud echoes ``job_id``)."""
        __tracebackhide__ = True
        return self._get("job_result", user, context)

    def get_results_data(self, context: CloudContext, user: User) -> Any:
        """The results, decoded from their JSON text (``{"results": {"|1,0>": 1000}, ...}`` for a sample count).

        Raises :class:`ResultsNotReadyError` when they are ``null`` because the job has not completed
        (naming its status and history), and :class:`CloudApiError` (``kind="protocol"``) when they are
        ``null`` for a completed job, or are not JSON text.
        """
        __tracebackhide__ = True
        body = self.get_results(context, user)
        path = context.path("job_result", job_id=self.job_id)
        if "results" in body and body["results"] is None:
            status = self.get_status(context, user).get("status")
            if status == protocol.COMPLETED:
                raise CloudApiError("GET", path, status=200, body=excerpt(body), kind="protocol",
                                    reason="results are null although the job is completed")
            raise ResultsNotReadyError(self.job_id, f"results are null: the job is {status}", {protocol.COMPLETED},
                                       self.history)
        return decode_results(body, path)

    @reported("rerun job {self.job_id}")
    def rerun(self, context: CloudContext, user: User) -> Job:
        """Rerun an ended (error or cancelled) job as a new job, returned. Never retried."""
        __tracebackhide__ = True
        self._require_id("rerun")
        data = self.get_api(context).call_json("POST", "job_rerun", self.token_of(user),
                                               path_params={"job_id": self.job_id})
        new_id = data.get("job_id") if isinstance(data, dict) else None
        if not isinstance(new_id, str) or not new_id:
            raise CloudApiError("POST", context.path("job_rerun", job_id=self.job_id), status=200,
                                body=excerpt(data), kind="protocol",
                                reason="rerun answered without a 'job_id' string")
        return Job(self.platform_name, self.job_name, self.payload, self.pcvl_version, self.process_id, new_id)

    def wait_until(
        self,
        context: CloudContext,
        user: User,
        statuses: Iterable[str] | str = _TERMINAL,
        timeout: float = 60.0,
        policy: PollingPolicy | None = None,
    ) -> dict[str, Any]:
        """Poll until the job is in one of ``statuses``; return that status body.

        Returns or raises within ``timeout`` plus ``policy.last_call_grace`` (1 s), even when the cloud
        stops answering: every status call, retries included, is cut to the time left.
        Raises ``WaitTimeoutError``, ``UnexpectedEndError`` (with the cloud's ``failure_code`` and
        ``status_message``) or ``IllegalTransitionError`` (all ``JobWaitError``) naming the job, the
        statuses wanted and the whole history.
        """
        __tracebackhide__ = True
        self._require_id("wait")
        wanted = {statuses} if isinstance(statuses, str) else set(statuses)
        policy = policy or PollingPolicy()
        with step(f"wait for job {self.job_id} until {' or '.join(sorted(wanted))} (timeout {timeout:g}s)",
                  summarise=True), calls_end_by(time.monotonic() + timeout + policy.last_call_grace):
            try:
                return wait_for(lambda: self.get_status(context, user), wanted, timeout, self.history,
                                policy=policy)
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
        __tracebackhide__ = True
        _require_admin(admin, "cancel_many")
        ids = [job.job_id if isinstance(job, Job) else str(job) for job in jobs]
        data = cls.get_api(context).call_json("POST", "admin_cancel", cls.token_of(admin),
                                              json_body={"job_ids": ids}, retry=True)
        if isinstance(data, dict) and isinstance(data.get("results"), dict):
            results: dict[str, Any] = data["results"]
            return results
        return data if isinstance(data, dict) else {}

    @classmethod
    @reported("list all jobs (admin)")
    def list_all(cls, context: CloudContext, admin: User, **filters: str) -> list[Job]:
        """Every job the cloud has (narrowed by ``status``, ``platform_name``, ``process_id``, ``owner``).

        Raises ``AssertionError`` for a non-admin user and :class:`CloudApiError` if the call fails.
        """
        __tracebackhide__ = True
        _require_admin(admin, "list_all")
        query = {k: v for k, v in filters.items() if v is not None}
        data = cls.get_api(context).call_json("GET", "admin_jobs", cls.token_of(admin), query=query, retry=True)
        records = data.get("jobs") if isinstance(data, dict) else data
        if not isinstance(records, list):
            raise CloudApiError("GET", context.path("admin_jobs"), status=200, body=excerpt(data),
                                kind="protocol", reason="the job listing is not a list")
        return [cls.from_record(r) for r in records if isinstance(r, dict)]

    @classmethod
    def from_record(cls, record: Mapping[Any, Any]) -> Job:
        """A ``Job`` built from a record of the listing or of ``read``, whatever its field names and values.

        The known fields are taken when they have the right type (``job_id`` falls back to ``id``; a number
        is written as text); ``status`` is kept as text (``None`` when absent). Every other field, and every
        known one of the wrong type, is kept in ``extra`` as given, and is an attribute too when that is safe
        (see ``extra``). A record is the cloud's to write, so this never raises on its content.
        """
        known, fields = split_record(record)
        job = cls(**known)
        job._keep_extras(fields)
        return job

    def to_record(self) -> dict[str, Any]:
        """The job as a record: the known fields, ``status`` when it came from one, and every extra field."""
        record: dict[str, Any] = dict(self.extra)
        record.update({name: getattr(self, name) for name in FIELDS})
        if "status" in vars(self):
            record["status"] = self.status
        return record

    # -- helpers --------------------------------------------------------------------------------------
    def _get(self, endpoint: str, user: User, context: CloudContext) -> dict[str, Any]:
        __tracebackhide__ = True
        self._require_id(endpoint)
        data = self.get_api(context).call_json("GET", endpoint, self.token_of(user),
                                               path_params={"job_id": self.job_id}, retry=True)
        if not isinstance(data, dict):
            raise CloudApiError("GET", context.path(endpoint, job_id=self.job_id), status=200,
                                body=excerpt(data), kind="protocol", reason="expected a JSON object")
        return data

    def _status_is(self, context: CloudContext, user: User, status: str) -> bool:
        try:
            return self.get_status(context, user).get("status") == status
        except RuntimeError:
            return False

    def _require_id(self, what: str) -> None:
        __tracebackhide__ = True
        if not self.job_id:
            raise JobNotCreatedError(f"cannot {what.replace('job_', '')} a job that was never created (no job_id)")

    def __repr__(self) -> str:
        return f"Job(job_id={self.job_id!r}, platform_name={self.platform_name!r}, job_name={self.job_name!r})"
