"""How the reference cloud breaks the promises named by ``--break`` (catalogue: ``defects.py``).

The routes of ``app.py`` call these hooks at a few points (who the caller is, what a handler is about to
answer), so every defect lives here and a cloud started without ``--break`` takes the plain path
everywhere: each hook returns its input unchanged when its defects are off.
"""
from __future__ import annotations

import datetime
import json
import uuid
from collections import Counter
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from pytest_cloudjob import protocol
from pytest_cloudjob.physics import wire
from pytest_cloudjob.server.platforms import PlatformModel
from pytest_cloudjob.server.results import make_results
from pytest_cloudjob.server.store import JobStore, StoredJob

_TENANT_DEFECT = {"/api/job/status/": "other-tenant-status", "/api/job/result/": "other-tenant-results",
                  "/api/job/cancel/": "other-tenant-cancel", "/api/job/rerun/": "other-tenant-rerun"}


class InjectedError(Exception):
    """An error answer a defect gives where a conforming cloud answers otherwise."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


async def injected_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, InjectedError)
    return JSONResponse({"error": exc.message}, status_code=exc.status)


class Breakage:
    """The defects a cloud was started with, applied by the hooks the routes call."""

    def __init__(self, defects: frozenset[str], store: JobStore, platforms: dict[str, PlatformModel]) -> None:
        self.defects = defects
        self.store = store
        self.platforms = platforms
        self._reads: Counter[str] = Counter()  # status reads per job, for defects that flip every other read

    def on(self, name: str) -> bool:
        return name in self.defects

    # -- who is calling ---------------------------------------------------------------------------------------
    def fallback_account(self, path: str, has_header: bool) -> str | None:
        """The account an unauthenticated request is served as (``None``: refused, as promised)."""
        admin = path.startswith("/api/admin/")
        if not has_header:
            if admin and self.on("anonymous-admin"):
                return "admin"
            return "user" if self.on("anonymous-allowed") else None
        if admin and self.on("wrong-token-admin"):
            return "admin"
        return "user" if self.on("wrong-token-allowed") else None

    def almost_right(self, token: str, tokens: dict[str, Any]) -> Any:
        """The account of a known token that ``token`` is a prefix or an extension of (``almost-right-token``)."""
        if not self.on("almost-right-token") or not token:
            return None
        return next((account for known, account in tokens.items()
                     if known != token and (known.startswith(token) or token.startswith(known))), None)

    def refusal_status(self, job_known: bool | None) -> int:
        """The status an unauthenticated call gets (401, as promised); ``job_known``: whether the job the call
        names exists (``None``: the call names no job)."""
        if job_known is None:
            return 401
        if not job_known and self.on("job-lookup-before-auth"):
            return 404
        if job_known and self.on("auth-refusal-403"):
            return 403
        return 401

    def open_read(self, path: str) -> str | None:
        """The account a read of platform details or availability without a token is served as (``None``: refused)."""
        if path == "/api/jobs/availability":
            return "user" if self.on("availability-anonymous") else None
        return "user" if self.on("platform-details-anonymous") else None

    def unknown_job_status(self, job_id: str) -> int:
        """What a call on a job the caller cannot see answers: 404, or 400 for an id that is not a UUID
        (``job-id-format-400``: a cloud that validates ids, where the protocol says they are opaque)."""
        if self.on("job-id-format-400"):
            try:
                uuid.UUID(job_id)
            except ValueError:
                return 400
        return 404

    def admin_open(self, path: str) -> bool:
        return self.on("open-admin-cancel") if path.endswith("/cancel") else self.on("open-admin-list")

    def tenant_open(self, path: str) -> bool:
        if self.on("shared-jobs"):
            return True
        for prefix, defect in _TENANT_DEFECT.items():
            if path.startswith(prefix):
                return self.on(defect)
        return self.on("other-tenant-read")

    # -- create --------------------------------------------------------------------------------------------------
    def create_body(self, body: dict[str, Any]) -> dict[str, Any]:
        if self.on("lax-create") and "payload" not in body:
            body["payload"] = {"command": "sample_count"}
        if self.on("lax-platform-name") and "platform_name" not in body:
            body["platform_name"] = next(iter(self.platforms))
        payload = body.get("payload")
        if self.on("max-shots-type-unchecked") and isinstance(payload, dict) and isinstance(payload.get("max_shots"), str):
            payload.pop("max_shots")  # a cloud that reads what it can and drops the rest
        if self.on("extra-field-refused") and set(body) - {"platform_name", "payload", "job_name", "pcvl_version",
                                                           "process_id"}:
            raise InjectedError(400, f"unknown fields {sorted(set(body) - {'platform_name', 'payload'})}")
        if self.on("lax-command") and isinstance(body.get("payload"), dict) and "command" not in body["payload"]:
            body["payload"]["command"] = "sample_count"
        return body

    def lenient_body(self, raw: bytes, error: Exception) -> dict[str, Any]:
        """A create body refused as not strict JSON, parsed anyway by ``nan-accepted`` (NaN, Infinity); else the refusal."""
        if self.on("nan-accepted") and "not a JSON number" in str(error):
            body = json.loads(raw)
            if isinstance(body, dict):
                return body
        raise error

    def bad_body(self) -> None:
        if self.on("bad-body-crash"):
            raise InjectedError(500, "internal server error")

    def unknown_platform(self, name: str) -> PlatformModel | None:
        """What a create on the unknown platform ``name`` gets instead of the promised 404."""
        if self.on("unknown-platform-accepted"):
            return next(iter(self.platforms.values()))
        if self.on("unknown-platform-400"):
            raise InjectedError(400, f"bad platform {name!r}")
        return None

    # -- platform details ------------------------------------------------------------------------------------------
    def platform_details(self, path: str, name: str, details: dict[str, Any] | None,
                         is_admin: bool = False) -> dict[str, Any] | None:
        legacy = path.startswith("/api/platform/")
        if self.on("legacy-platform-path-missing") and legacy:
            raise InjectedError(404, "not found")
        if is_admin and self.on("platform-details-admin-refused"):
            raise InjectedError(403, "platform details are for regular accounts")
        if details is None:
            placeholder = {"name": name, "type": "simulator", "status": "unavailable", "specs": {}}
            if self.on("unknown-platform-details") and not legacy:
                return placeholder
            return placeholder if self.on("unknown-platform-legacy") and legacy else None
        if self.on("platform-no-commands"):
            details = {**details, "specs": {k: v for k, v in details["specs"].items() if k != "available_commands"}}
        return details

    # -- the status body ---------------------------------------------------------------------------------------------
    def status(self, job: StoredJob, body: dict[str, Any]) -> dict[str, Any]:
        status = body["status"]
        if self.on("unknown-command-completes") and status == protocol.ERROR and job.failure is None:
            body.update(status=protocol.COMPLETED, progress=1.0, failure_code=None, status_message="")
        if self.on("never-starts") and job.canceled_at is None:
            body.update(status=protocol.WAITING, progress=0.0, start_time=None, duration=None)
        if self.on("never-ends") and status == protocol.COMPLETED:
            body.update(status=protocol.RUNNING, progress=0.99, duration=None)
        if status == protocol.CANCELED and job.cancel_requested_at is not None:
            if self.on("cancel-completes"):
                body["status"] = protocol.COMPLETED
            if self.on("cancel-stuck"):
                body.update(status=protocol.CANCEL_REQUESTED, duration=None)
        if status in protocol.TERMINAL_STATUSES and self.on("terminal-not-final"):
            self._reads[job.job_id] += 1
            if self._reads[job.job_id] % 2 == 0:
                body.update(status=protocol.RUNNING, progress=0.5, duration=None)
        if status == protocol.RUNNING and self.on("running-back-to-waiting"):
            self._reads[job.job_id] += 1
            if self._reads[job.job_id] % 2 == 0:
                body.update(status=protocol.WAITING, progress=0.0)
        if self.on("no-progress"):
            body.pop("progress")
        if self.on("progress-percent") and isinstance(body.get("progress"), (int, float)):
            body["progress"] = round(body["progress"] * 100, 2)
        if self.on("no-creation-datetime"):
            body.pop("creation_datetime")
        if self.on("text-times"):
            body["creation_datetime"] = _iso(body["creation_datetime"])
        ended = body["status"] in protocol.TERMINAL_STATUSES
        if self.on("progress-below-one-at-end") and body["status"] == protocol.COMPLETED:
            body["progress"] = 0.99
        if self.on("failure-code-on-success") and body["status"] != protocol.ERROR:
            body["failure_code"] = ""
        if self.on("error-without-failure-code") and body["status"] == protocol.ERROR:
            body["failure_code"] = None
        if self.on("no-duration-unless-completed") and ended and body["status"] != protocol.COMPLETED:
            body["duration"] = None
        if self.on("times-in-milliseconds"):
            for key in ("creation_datetime", "start_time"):
                if isinstance(body.get(key), (int, float)):
                    body[key] = round(body[key] * 1000)
        if self.on("duration-in-milliseconds") and isinstance(body.get("duration"), (int, float)):
            body["duration"] = round((job.ended_at(self.store.clock()) or job.created_at) * 1000
                                     - job.created_at * 1000)
        if self.on("canceled-start-after-end") and body["status"] == protocol.CANCELED \
                and body.get("start_time") is not None:
            body["start_time"] = body["creation_datetime"] + (body.get("duration") or 0) + 60
        if self.on("start-after-end") and body["status"] == protocol.COMPLETED and body.get("start_time") is not None:
            body["start_time"] = body["creation_datetime"] + (body.get("duration") or 0) + 60
        if self.on("status-messages-dropped"):
            for key in ("progress_message", "status_message", "failure_code"):
                body.pop(key)
        if body["status"] in protocol.TERMINAL_STATUSES and body.get("start_time") is not None:
            if self.on("no-start-time"):
                body["start_time"] = None
            if self.on("start-before-creation"):
                body["start_time"] = job.created_at - 3600.0
        if self.on("negative-duration") and body.get("duration") is not None:
            body["duration"] = -1 - body["duration"]
        if self.on("unknown-status-name") and body["status"] == protocol.COMPLETED:
            body["status"] = "done"
        return body

    def record(self, record: dict[str, Any]) -> dict[str, Any]:
        if self.on("record-wrong-platform"):
            record["platform_name"] = record["platform_name"] + "-elsewhere"
        if self.on("record-no-process-id"):
            record.pop("process_id")
        return record

    # -- cancel ---------------------------------------------------------------------------------------------------------
    def cancel(self, job: StoredJob) -> tuple[str, str]:
        """The status before and after cancelling ``job``, as the store does it unless a defect skips it."""
        before = job.status_at(self.store.clock())
        if self.on("cancel-noop") and before == protocol.RUNNING:
            return before, before
        if self.on("cancel-waiting-ignored") and before == protocol.WAITING:
            return before, before
        return self.store.cancel(job)

    def accepts_ended_cancel(self, before: str) -> bool:
        return (before == protocol.COMPLETED and self.on("cancel-completed-accepted")) or \
            (before == protocol.CANCELED and self.on("cancel-canceled-accepted"))

    def cancel_many_body(self, ids: Any) -> Any:
        """The ids cancel-many takes from a body whose ``job_ids`` is not a list of strings (``cancel-many-lax-body``)."""
        if self.on("cancel-many-lax-body") and isinstance(ids, str):
            return [ids]
        return ids

    def cancel_many(self, ids: list[str]) -> dict[str, str]:
        if self.on("cancel-many-ends-completed"):
            for job_id in ids:
                job = self.store.jobs.get(job_id)
                if job is not None and job.status_at(self.store.clock()) == protocol.COMPLETED:
                    job.canceled_at = self.store.clock()
        if self.on("cancel-many-first-only") and ids:
            outcomes = self.store.cancel_many(ids[:1])
            return {**outcomes, **{i: protocol.CANCELED for i in ids[1:]}}
        outcomes = self.store.cancel_many(ids)
        if self.on("cancel-many-missing-outcome") and ids:
            outcomes.pop(ids[-1], None)
        if self.on("cancel-many-unknown-dropped"):
            outcomes = {i: outcome for i, outcome in outcomes.items() if outcome != "not_found"}
        if self.on("cancel-many-not-found-canceled"):
            outcomes = {i: protocol.CANCELED if o == "not_found" else o for i, o in outcomes.items()}
        if self.on("cancel-many-active-says-before"):  # the status before the cancel, not its outcome
            outcomes = {i: protocol.RUNNING if o in (protocol.CANCELED, protocol.CANCEL_REQUESTED) else o
                        for i, o in outcomes.items()}
        if self.on("cancel-many-ended-canceled"):
            outcomes = {i: protocol.CANCELED if o.startswith("already_") else o for i, o in outcomes.items()}
        return outcomes

    # -- results ----------------------------------------------------------------------------------------------------------
    def results(self, job: StoredJob, text: str | None) -> Any:
        if self.on("results-before-completion") and text is None and job.canceled_at is None:
            text = make_results(job.payload, self.store.seed, job.job_id, platform_details=job.platform.details)
        if text is None:
            return None
        if self.on("results-null-after-completion"):
            return None
        if self.on("shots-ignored"):
            text = make_results({**job.payload, "max_shots": 1000}, self.store.seed, job.job_id,
                                platform_details=job.platform.details)
        if self.on("wrong-shot-count"):
            text = _one_shot_more(text)
        if self.on("job-context-dropped"):
            data = json.loads(text)
            data.pop("job_context", None)
            text = json.dumps(data)
        if self.on("results-not-text"):
            return json.loads(text)
        return text

    # -- rerun ------------------------------------------------------------------------------------------------------------
    def rerun_allowed(self, status: str) -> bool:
        if self.on("rerun-refused") or (self.on("rerun-error-refused") and status == protocol.ERROR):
            return False
        allowed = {protocol.ERROR, protocol.CANCELED} | ({protocol.COMPLETED} if self.on("rerun-completed-accepted") else set())
        return status in allowed

    def rerun(self, job: StoredJob) -> str:
        """The id a rerun of ``job`` answers."""
        if self.on("rerun-same-id"):
            return job.job_id
        if self.on("rerun-phantom"):
            return str(uuid.uuid4())
        body = {"job_name": job.job_name, "pcvl_version": job.pcvl_version, "process_id": job.process_id,
                "payload": job.payload, **job.extra}
        platform = job.platform
        if self.on("rerun-other-platform"):
            platform = next(p for p in self.platforms.values() if p is not job.platform)
        if self.on("rerun-payload-changed"):  # the payload's budget lost: the platform's default shots
            body["payload"] = {k: v for k, v in job.payload.items() if k not in ("max_shots", "max_samples")}
        if self.on("rerun-names-lost"):
            body.update(job_name="job", pcvl_version="")
        if self.defects & {"rerun-other-platform", "rerun-payload-changed", "rerun-names-lost"}:
            return self.store.create(job.owner, platform, body, rerun_of=job.job_id, simulated=job.simulated).job_id
        return self.store.rerun(job).job_id

    # -- the admin listing ------------------------------------------------------------------------------------------------
    def unknown_filters(self, unknown: set[str], status: str | None) -> bool:
        """Whether the listing refuses (400) unknown filters, or an unknown status value."""
        if unknown:
            return not self.on("list-unknown-filter-ignored")
        return status is not None and status not in protocol.ALL_STATUSES and not self.on("list-unknown-status-ignored")

    def select(self, filters: dict[str, str | None]) -> list[dict[str, Any]]:
        """The records the listing answers: each filter matched exactly, or as a prefix (``list-filter-prefix``)."""
        if not self.on("list-filter-prefix"):
            return self.store.select(**filters)
        records = self.store.select(status=filters.get("status"))
        return [r for r in records if all(str(r.get(name, "")).startswith(value)
                                          for name, value in filters.items() if value is not None)]

    def list_filters(self, filters: dict[str, str | None]) -> dict[str, str | None]:
        for name in protocol.LIST_FILTERS:
            if self.on(f"list-ignores-{name.replace('_name', '').replace('_', '-')}"):
                filters[name] = None
        return filters

    def listing(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if self.on("list-hides-active"):
            return [r for r in records if r.get("status") in protocol.TERMINAL_STATUSES]
        return records


def _iso(seconds: Any) -> Any:
    if not isinstance(seconds, (int, float)):
        return seconds
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).isoformat()


def _one_shot_more(results_text: str) -> str:
    """One sample more than the results hold, in the form they are in (a mapping or a ``:PCVL:BSCount:`` text)."""
    data = json.loads(results_text)
    counts = data.get("results")
    if isinstance(counts, dict) and counts:
        first = next(iter(counts))
        counts[first] += 1
    elif isinstance(counts, str) and counts.startswith(wire.PREFIX + "BSCount:"):
        histogram = {state: int(n) for state, n in wire.parse_results(counts).values.items()}
        if histogram:
            histogram[next(iter(histogram))] += 1
            data["results"] = wire.bscount(histogram)
    return json.dumps(data)
