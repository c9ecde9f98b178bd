"""The OpenAPI 3 description of the protocol, served at ``/openapi.json``: docs/protocol.md, machine-readable.

Written from the protocol's promises, not derived from this server's handlers, so that a fuzzer
(Schemathesis) can hold any cloud to it, ours included. ``tests/server/test_openapi.py`` checks that it
lists the same endpoints as docs/protocol.md. Statuses and listing filters come from
:mod:`pytest_cloudjob.protocol`, the one vocabulary the client and the cloud share.
"""
from __future__ import annotations

import copy
from typing import Any

from pytest_cloudjob import protocol

JsonObject = dict[str, Any]

_ERROR_TEXT = {
    400: "the request is wrong; `error` says how",
    401: "no token, or a token the cloud does not know",
    403: "the token is valid but not an admin's",
    404: "no such job, a job of another tenant, or no such platform",
    413: "the body is larger than the cloud accepts",
}


def _ref(name: str) -> JsonObject:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: JsonObject) -> JsonObject:
    return {**schema, "nullable": True}


def _json(schema: JsonObject) -> JsonObject:
    return {"content": {"application/json": {"schema": schema}}}


def _responses(ok: str, ok_schema: JsonObject | None, *errors: int) -> JsonObject:
    success: JsonObject = {"description": ok, **(_json(ok_schema) if ok_schema is not None else {})}
    out: JsonObject = {"200": success}
    for status in (401, *errors):
        out[str(status)] = {"description": _ERROR_TEXT[status], **_json(_ref("Error"))}
    return out


_JOB_ID: JsonObject = {"name": "job_id", "in": "path", "required": True, "schema": {"type": "string"},
                       "description": "the id the create call answered"}
_PLATFORM: JsonObject = {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}, "example": "sim:qa",
                         "description": "a platform name such as `sim:qa`"}


def _call(summary: str, responses: JsonObject, *, params: list[JsonObject] | None = None,
          body: JsonObject | None = None, operation_id: str) -> JsonObject:
    call: JsonObject = {"summary": summary, "operationId": operation_id, "responses": responses}
    if params:
        call["parameters"] = params
    if body is not None:
        call["requestBody"] = {"required": True, **_json(body)}
    return call


_STATUS_FIELDS: JsonObject = {
    "status": {"type": "string", "enum": sorted(protocol.ALL_STATUSES)},
    "progress": {"type": "number", "minimum": 0, "maximum": 1},
    "progress_message": _nullable({"type": "string"}),
    "status_message": _nullable({"type": "string"}),
    "failure_code": _nullable({"type": "string"}),
    "creation_datetime": _nullable({"type": "number"}),
    "start_time": _nullable({"type": "number"}),
    "duration": _nullable({"type": "number", "minimum": 0}),
}

SCHEMAS: JsonObject = {
    "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
    "CreateBody": {
        "type": "object", "required": ["platform_name", "payload"],
        "properties": {
            "platform_name": {"type": "string", "minLength": 1, "example": "sim:qa"},
            "job_name": _nullable({"type": "string"}),
            "pcvl_version": _nullable({"type": "string"}),
            "process_id": _nullable({"type": "string"}),
            "payload": {
                "type": "object", "required": ["command"],
                "properties": {
                    "command": {"type": "string", "minLength": 1},
                    "max_shots": _nullable({"type": "integer", "minimum": 1}),
                    "max_samples": _nullable({"type": "integer", "minimum": 0}),
                    "job_context": _nullable({"type": "object"}),
                },
            },
        },
    },
    "JobId": {"type": "object", "required": ["job_id"], "properties": {"job_id": {"type": "string", "minLength": 1}}},
    "StatusBody": {"type": "object", "required": ["status"], "properties": _STATUS_FIELDS},
    "JobRecord": {
        "type": "object", "required": ["status"],
        "properties": {
            "job_id": {"type": "string"},
            "platform_name": {"type": "string"},
            "job_name": {"type": "string"},
            "pcvl_version": {"type": "string"},
            "process_id": {"type": "string"},
            "owner": {"type": "string"},
            "payload": {"type": "object"},
            **_STATUS_FIELDS,
        },
    },
    "Results": {"type": "object", "required": ["results"],
                "properties": {"results": _nullable({"type": "string",
                                                     "description": "JSON text; null until the job completed"})}},
    "Platform": {
        "type": "object", "required": ["name"],
        "properties": {
            "id": {"type": "string"}, "name": {"type": "string"}, "type": {"type": "string"},
            "status": {"type": "string"}, "specs": {"type": "object"}, "perfs": {"type": "object"},
        },
    },
    "CancelMany": {"type": "object", "required": ["job_ids"],
                   "properties": {"job_ids": {"type": "array", "items": {"type": "string"}}}},
    "CancelOutcomes": {"type": "object", "required": ["results"],
                       "properties": {"results": {"type": "object", "additionalProperties": {"type": "string"}}}},
    "Availability": {
        "type": "object", "required": ["max_jobs_in_queue", "num_jobs_in_queue"],
        "properties": {"max_jobs_in_queue": {"type": "integer", "minimum": 0},
                       "num_jobs_in_queue": {"type": "integer", "minimum": 0}},
    },
}

_FILTERS: list[JsonObject] = [
    {"name": name, "in": "query", "required": False,
     "schema": {"type": "string", "enum": sorted(protocol.ALL_STATUSES)} if name == "status" else {"type": "string"}}
    for name in protocol.LIST_FILTERS
]

def _with_job_links(responses: JsonObject) -> JsonObject:
    """Links from an answered ``job_id`` to the calls that take it, so a stateful fuzzer follows real jobs."""
    responses["200"]["links"] = {
        f"{operation}_the_job": {"operationId": operation, "parameters": {"job_id": "$response.body#/job_id"}}
        for operation in ("read", "status", "results", "cancel", "rerun")
    }
    return responses


PATHS: JsonObject = {
    "/api/job": {"post": _call("create a job", _with_job_links(_responses("the new job's id", _ref("JobId"), 400, 404, 413)),
                               body=_ref("CreateBody"), operation_id="create")},
    "/api/job/{job_id}": {"get": _call("read a job's record", _responses("the whole job record", _ref("JobRecord"), 404),
                                       params=[_JOB_ID], operation_id="read")},
    "/api/job/status/{job_id}": {"get": _call("a job's status", _responses("the status body", _ref("StatusBody"), 404),
                                              params=[_JOB_ID], operation_id="status")},
    "/api/job/cancel/{job_id}": {"post": _call("cancel a job", _responses("cancel accepted (body not promised)", None, 400, 404),
                                               params=[_JOB_ID], operation_id="cancel")},
    "/api/job/result/{job_id}": {"get": _call("a job's results", _responses("results, null before success", _ref("Results"), 404),
                                              params=[_JOB_ID], operation_id="results")},
    "/api/job/rerun/{job_id}": {"post": _call("rerun an error or canceled job",
                                              _responses("the new job's id", _ref("JobId"), 400, 404),
                                              params=[_JOB_ID], operation_id="rerun")},
    "/api/platforms/{name}/processor": {"get": _call("a platform's details", _responses("details", _ref("Platform"), 404),
                                                     params=[_PLATFORM], operation_id="platform")},
    "/api/platform/{name}": {"get": _call("a platform's details (older path)", _responses("details", _ref("Platform"), 404),
                                          params=[_PLATFORM], operation_id="platform_legacy")},
    "/api/admin/jobs": {"get": _call("list every job (admin)",
                                     _responses("matching job records", {"type": "array", "items": _ref("JobRecord")},
                                                400, 403),
                                     params=_FILTERS, operation_id="admin_jobs")},
    "/api/admin/jobs/cancel": {"post": _call("cancel many jobs (admin)",
                                             _responses("one outcome per id", _ref("CancelOutcomes"), 400, 403, 413),
                                             body=_ref("CancelMany"), operation_id="admin_cancel")},
    "/api/jobs/availability": {"get": _call("how many more jobs this account may queue",
                                            _responses("the account's queue", _ref("Availability")),
                                            operation_id="availability")},
}


def openapi_document() -> JsonObject:
    """The whole OpenAPI 3.0 document (a new dict each call: callers may change it)."""
    return copy.deepcopy({
        "openapi": "3.0.3",
        "info": {"title": "Quantum-cloud job protocol (as Perceval speaks it)", "version": "1",
                 "description": "docs/protocol.md of pytest-cloudjob. Every call needs `Authorization: Bearer <token>`."},
        "paths": PATHS,
        "components": {"schemas": SCHEMAS, "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
    })
