"""The reference cloud's HTTP side: the endpoints of docs/protocol.md as a Starlette application.

Every handler is ``async`` and never blocks, so the whole store lives on the event loop's one thread
and needs no lock. Simulations run in a worker process (server/simulator.py), started when a job is
created, one at a time, each within its time budget. A client's mistake is a 4xx naming it (server/body.py
reads bodies without trusting them, server/limits.py bounds the physics); a 500 is always a bug of this server.
"""
from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from pytest_cloudjob import protocol
from pytest_cloudjob.server.body import (
    MAX_BODY_BYTES,
    BodyError,
    declared_too_large,
    json_object,
    parse_json_object,
    read_body,
    too_large,
)
from pytest_cloudjob.server.breakage import Breakage, InjectedError, injected_error
from pytest_cloudjob.server.limits import SIMULATION_BUDGET, SIMULATION_FAILED, physics_problem
from pytest_cloudjob.server.openapi import openapi_document
from pytest_cloudjob.server.platforms import PlatformModel, default_platforms
from pytest_cloudjob.server.results import assess, physics_status
from pytest_cloudjob.server.simulator import SimulationFailed, Simulator
from pytest_cloudjob.server.store import JobStore, StoredJob

__all__ = ["MAX_BODY_BYTES", "ApiError", "CloudConfig", "Faults", "create_app", "json_object"]

MAX_SHOTS_LIMIT = 10**9


@dataclass(frozen=True)
class Account:
    name: str
    is_admin: bool


@dataclass
class Faults:
    """Robustness testing, all off by default: added latency, transient 503s and dropped connections
    on reads (``GET``), so a harness's retries can be exercised against a real server.

    Transient means transient: a path is faulted at most ``MAX_IN_A_ROW`` times in a row, so a client that
    tries a read four times always gets through. Independent faults would make a long run red by chance
    (at 20 %, one read in 600 fails four times), and more often the longer its jobs run: a busy machine
    polls more. A rate of 1 faults every read (a cloud that is down)."""

    MAX_IN_A_ROW = 2

    latency: float = 0.0
    read_503_rate: float = 0.0
    drop_rate: float = 0.0
    rng: random.Random = field(default_factory=lambda: random.Random(0))
    in_a_row: dict[str, int] = field(default_factory=dict)

    def fault(self, path: str, rate: float) -> bool:
        """Whether this read of ``path`` is faulted (at ``rate``, but never a third time in a row; a rate of 1
        is a cloud that is down, not a transient fault: every read)."""
        if not rate:
            return False
        if rate >= 1:
            return True
        if self.in_a_row.get(path, 0) < self.MAX_IN_A_ROW and self.rng.random() < rate:
            self.in_a_row[path] = self.in_a_row.get(path, 0) + 1
            return True
        return False

    def served(self, path: str) -> None:
        self.in_a_row.pop(path, None)


@dataclass
class CloudConfig:
    tokens: dict[str, str]  # account name -> token, for "user", "other" and "admin"
    platforms: dict[str, PlatformModel] = field(default_factory=default_platforms)
    seed: int = 0
    max_finished: int = 10_000
    max_jobs_in_queue: int = 1000  # what GET /api/jobs/availability advertises per account (not enforced)
    faults: Faults = field(default_factory=Faults)
    defects: frozenset[str] = frozenset()  # names from server.defects.DEFECTS: promises to break on purpose
    simulation_budget: float = SIMULATION_BUDGET  # seconds of simulation per job, then it ends in error


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class _DroppedConnection(Exception):
    """Raised after the response has started, so the server closes the connection mid-answer."""


class _Cloud:
    """One reference cloud's state, and the checks every route makes: who calls, which job, which platform."""

    def __init__(self, config: CloudConfig) -> None:
        self.config = config
        self.accounts = {token: Account(name, name == "admin") for name, token in config.tokens.items()}
        self.simulator = Simulator(config.simulation_budget)
        self.computing: dict[str, asyncio.Task[None]] = {}  # job id -> its results being computed (once per job)
        self.requests_started = 0  # every HTTP request so far: one arriving during a create means concurrent clients
        self.store = JobStore(config.platforms, seed=config.seed, max_finished=config.max_finished,
                              defects=config.defects, on_created=self.start_results)
        self.breakage = Breakage(config.defects, self.store, config.platforms)  # every --break defect is applied there

    async def compute_results(self, job: StoredJob) -> None:
        store = self.store
        request = {"payload": job.payload, "seed": store.seed, "job_key": job.rerun_of or job.job_id,
                   "details": job.platform.details(), "defects": sorted(store.defects)}
        try:
            job.results_text = await self.simulator.results(request)
        except SimulationFailed as failed:
            job.failure = (failed.code, failed.message)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # whatever happens, the job ends, and no read of it ever fails
            job.failure = (SIMULATION_FAILED, f"the simulation failed: {type(exc).__name__}")
        finally:
            job.ready_at = store.clock()
            self.computing.pop(job.job_id, None)

    def start_results(self, job: StoredJob) -> None:
        if job.simulated and job.canceled_at is None:
            self.computing[job.job_id] = asyncio.get_running_loop().create_task(self.compute_results(job))

    def stop_results(self, job: StoredJob) -> None:
        task = self.computing.get(job.job_id)
        if task is not None and job.canceled_at is not None:
            task.cancel()

    def account_of(self, request: Request, open_read: bool = False) -> Account:
        """The caller's account, or 401 before anything else is looked at (the job a call names included).
        ``open_read``: a read of platform details or availability (which a defect may serve to anyone)."""
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        bearer = scheme.lower() == "bearer"
        account = self.accounts.get(token.strip()) if bearer else None
        if account is None and bearer:
            account = self.breakage.almost_right(token.strip(), self.accounts)
        if account is None and (served_as := self.breakage.fallback_account(request.url.path, bool(header))):
            account = Account(served_as, served_as == "admin")
        if account is None and open_read and not header and (served_as := self.breakage.open_read(request.url.path)):
            account = Account(served_as, False)
        if account is None:
            job_id = request.path_params.get("job_id")
            status = self.breakage.refusal_status(None if job_id is None else job_id in self.store.jobs)
            raise ApiError(status, "missing or invalid bearer token")
        return account

    def admin_of(self, request: Request) -> Account:
        account = self.account_of(request)
        if not account.is_admin and not self.breakage.admin_open(request.url.path):
            raise ApiError(403, "this call needs an admin token")
        return account

    def job_for(self, request: Request, account: Account) -> StoredJob:
        see_all = (account.is_admin and not self.breakage.on("admin-sees-own-jobs-only")) \
            or self.breakage.tenant_open(request.url.path)
        job = self.store.get(request.path_params["job_id"], None if see_all else account.name)
        if job is None:
            raise ApiError(self.breakage.unknown_job_status(request.path_params["job_id"]), "no such job")
        return job

    def platform_named(self, name: str) -> PlatformModel:
        platform = self.config.platforms.get(name)
        if platform is None:
            raise ApiError(404, f"unknown platform {name!r}; known: {', '.join(sorted(self.config.platforms))}")
        return platform


def _job_routes(cloud: _Cloud) -> list[Route]:
    """A regular user's calls on jobs: create, read, status, results, cancel, rerun."""
    store, breakage = cloud.store, cloud.breakage

    async def create_job(request: Request) -> Response:
        started = cloud.requests_started
        account = cloud.account_of(request)
        raw = await read_body(request)
        try:
            body = breakage.create_body(parse_json_object(raw))
        except BodyError as error:
            breakage.bad_body()
            body = breakage.create_body(breakage.lenient_body(raw, error))
        name = check_create_body(body)
        platform = cloud.config.platforms.get(name) or breakage.unknown_platform(name) or cloud.platform_named(name)
        # reading a Perceval experiment takes milliseconds: off the event loop, like the results below
        beyond_limits, simulated = await run_in_threadpool(assess, body["payload"], platform.details())
        if beyond_limits:
            raise ApiError(400, beyond_limits)
        job = store.create(account.name, platform, body, simulated=simulated,
                           concurrent=cloud.requests_started > started)
        return JSONResponse({"job_id": job.job_id})

    async def read_job(request: Request) -> Response:
        return JSONResponse(breakage.record(cloud.job_for(request, cloud.account_of(request)).record(store.clock())))

    async def job_status(request: Request) -> Response:
        job = cloud.job_for(request, cloud.account_of(request))
        return JSONResponse(breakage.status(job, job.status_body(store.clock())))

    async def job_result(request: Request) -> Response:
        job = cloud.job_for(request, cloud.account_of(request))
        results = breakage.results(job, store.results(job))
        return JSONResponse({"results": results, "job_id": job.job_id})

    async def cancel_job(request: Request) -> Response:
        job = cloud.job_for(request, cloud.account_of(request))
        before, after = breakage.cancel(job)
        cloud.stop_results(job)
        if before in protocol.TERMINAL_STATUSES and not breakage.accepts_ended_cancel(before):
            raise ApiError(400, f"job already ended ({before})")
        return JSONResponse({"job_id": job.job_id, "status": after})

    async def rerun_job(request: Request) -> Response:
        job = cloud.job_for(request, cloud.account_of(request))
        status = job.status_at(store.clock())
        if not breakage.rerun_allowed(status):
            raise ApiError(400, f"only error or canceled jobs can be rerun; this one is {status}")
        return JSONResponse({"job_id": breakage.rerun(job)})

    return [
        Route("/api/job", create_job, methods=["POST"]),
        Route("/api/job/status/{job_id}", job_status, methods=["GET"]),
        Route("/api/job/result/{job_id}", job_result, methods=["GET"]),
        Route("/api/job/cancel/{job_id}", cancel_job, methods=["POST"]),
        Route("/api/job/rerun/{job_id}", rerun_job, methods=["POST"]),
        Route("/api/job/{job_id}", read_job, methods=["GET"]),
    ]


def _platform_routes(cloud: _Cloud) -> list[Route]:
    """A platform's details (on the new path and Perceval's older one) and the caller's queue."""

    async def platform_details(request: Request) -> Response:
        account = cloud.account_of(request, open_read=True)
        name = request.path_params["name"]
        known = cloud.config.platforms.get(name)
        details = cloud.breakage.platform_details(request.url.path, name, known.details() if known else None,
                                                  account.is_admin)
        return JSONResponse(details if details is not None else cloud.platform_named(name).details())

    async def availability(request: Request) -> Response:
        account = cloud.account_of(request, open_read=True)
        queued = 0 if cloud.breakage.on("availability-ignores-own-jobs") else cloud.store.active_count(account.name)
        return JSONResponse({"max_jobs_in_queue": cloud.config.max_jobs_in_queue, "num_jobs_in_queue": queued})

    return [
        Route("/api/platforms/{name}/processor", platform_details, methods=["GET"]),
        Route("/api/platform/{name}", platform_details, methods=["GET"]),
        Route("/api/jobs/availability", availability, methods=["GET"]),
    ]


def _admin_routes(cloud: _Cloud) -> list[Route]:
    """The admin's calls: the listing with its filters, and cancel-many."""
    store, breakage = cloud.store, cloud.breakage

    async def admin_jobs(request: Request) -> Response:
        cloud.admin_of(request)
        query = request.query_params
        unknown = set(query) - set(protocol.LIST_FILTERS)
        status = query.get("status")
        if breakage.unknown_filters(unknown, status):
            raise ApiError(400, f"unknown filters {sorted(unknown)}" if unknown else f"unknown status {status!r}")
        status = status if status in protocol.ALL_STATUSES else None  # only a defect gets here with another
        filters = breakage.list_filters({"status": status, "platform_name": query.get("platform_name"),
                                         "process_id": query.get("process_id"), "owner": query.get("owner")})
        return JSONResponse(breakage.listing(breakage.select(filters)))

    async def admin_cancel(request: Request) -> Response:
        cloud.admin_of(request)
        body = await json_object(request)
        ids = breakage.cancel_many_body(body.get("job_ids"))
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise ApiError(400, "'job_ids' must be a list of strings")
        outcomes = breakage.cancel_many(ids)
        for job_id in ids:
            if (job := store.jobs.get(job_id)) is not None:
                cloud.stop_results(job)
        return JSONResponse({"results": outcomes})

    return [
        Route("/api/admin/jobs", admin_jobs, methods=["GET"]),
        Route("/api/admin/jobs/cancel", admin_cancel, methods=["POST"]),
    ]


def _service_routes(cloud: _Cloud) -> list[Route]:
    """Outside the protocol: ``/health`` (jobs, defects, physics, simulations) and the OpenAPI document."""

    async def openapi(request: Request) -> Response:
        return JSONResponse(openapi_document())

    async def health(request: Request) -> Response:
        store, simulator = cloud.store, cloud.simulator
        return JSONResponse({"status": "ok", "jobs": len(store.jobs), "evicted": store.evicted,
                             "defects": sorted(cloud.config.defects), "physics": physics_status(),
                             "simulations": simulator.simulations, "simulating": simulator.busy})

    return [
        Route("/health", health, methods=["GET"]),
        Route("/openapi.json", openapi, methods=["GET"]),
    ]


def create_app(config: CloudConfig) -> ASGIApp:
    """The ASGI application of a reference cloud with ``config``'s accounts, platforms and faults."""
    cloud = _Cloud(config)
    routes = [*_service_routes(cloud), *_job_routes(cloud), *_platform_routes(cloud), *_admin_routes(cloud)]
    app = Starlette(routes=routes, exception_handlers={ApiError: _api_error, BodyError: _body_error,
                                                       HTTPException: _http_error, InjectedError: injected_error})
    app.state.store = cloud.store
    app.state.simulator = cloud.simulator  # __main__ kills its worker when the cloud stops

    async def counted(scope: Scope, receive: Receive, send: Send) -> None:
        cloud.requests_started += 1
        await app(scope, receive, send)
    counted.state = app.state  # type: ignore[attr-defined]
    return _with_errors_and_faults(counted, config.faults)


def _with_errors_and_faults(app: ASGIApp, faults: Faults) -> ASGIApp:
    """Wrap ``app`` so a body announced too large is refused before anything reads it, and faults are
    injected on reads before it sees them."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await app(scope, receive, send)
        headers = dict(scope["headers"])
        if declared_too_large(headers.get(b"content-length", b"").decode("latin-1") or None):
            return await _refusal(too_large())(scope, receive, send)
        is_read = scope["method"] == "GET" and scope["path"] != "/health"
        if faults.latency:
            await asyncio.sleep(faults.latency)
        path = scope["path"]
        if is_read and faults.fault(path, faults.read_503_rate):
            response = JSONResponse({"error": "transient failure (injected)"}, status_code=503,
                                    headers={"Retry-After": "0"})
            return await response(scope, receive, send)
        if is_read and faults.fault(path, faults.drop_rate):
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"application/json"), (b"content-length", b"100")]})
            await send({"type": "http.response.body", "body": b'{"status": ', "more_body": True})
            raise _DroppedConnection("connection dropped (injected)")
        if is_read:
            faults.served(path)
        await app(scope, receive, send)

    wrapped.state = app.state  # type: ignore[attr-defined]
    return wrapped


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return JSONResponse({"error": exc.message}, status_code=exc.status)


def _refusal(error: BodyError) -> Response:
    """A 413 closes the connection: the rest of an oversized body is never read, nor kept."""
    headers = {"connection": "close"} if error.status == 413 else None
    return JSONResponse({"error": error.message}, status_code=error.status, headers=headers)


async def _body_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, BodyError)
    return _refusal(exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=exc.headers)


def check_create_body(body: dict[str, Any]) -> str:
    """Check a create body field by field; return its platform name or raise a 400 naming the field."""
    platform = body.get("platform_name")
    if not isinstance(platform, str) or not platform:
        raise ApiError(400, "'platform_name' is required and must be a non-empty string")
    for key in ("job_name", "pcvl_version", "process_id", "job_group_name"):
        if key in body and body[key] is not None and not isinstance(body[key], str):
            raise ApiError(400, f"'{key}' must be a string, got {type(body[key]).__name__}")
    payload = body.get("payload")
    if not isinstance(payload, dict):
        raise ApiError(400, "'payload' is required and must be an object")
    command = payload.get("command")
    if not isinstance(command, str) or not command:
        raise ApiError(400, "'payload.command' is required and must be a non-empty string")
    for key in ("max_shots", "max_samples"):
        value = payload.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            raise ApiError(400, f"'payload.{key}' must be an integer, got {type(value).__name__}")
        lowest = 1 if key == "max_shots" else 0
        if not lowest <= value <= MAX_SHOTS_LIMIT:
            raise ApiError(400, f"'payload.{key}' must be between {lowest} and {MAX_SHOTS_LIMIT}, got {value}")
    if "parameters" in payload and payload["parameters"] is not None and not isinstance(payload["parameters"], (dict, str)):
        raise ApiError(400, "'payload.parameters' must be an object")
    if payload.get("job_context") is not None and not isinstance(payload["job_context"], dict):
        raise ApiError(400, f"'payload.job_context' must be an object or null, got {type(payload['job_context']).__name__}")
    problem = physics_problem(payload)
    if problem:
        raise ApiError(400, problem)
    return platform
