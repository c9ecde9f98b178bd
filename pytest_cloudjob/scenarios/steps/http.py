"""The generic ``request`` step: any method and path of the cloud, its answer as ``{status, headers, body}``."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pytest_cloudjob.api.cloud_objects import User
from pytest_cloudjob.api.errors import CloudApiError
from pytest_cloudjob.scenarios.request import send
from pytest_cloudjob.scenarios.steps.base import ANY, HEADERS, METHOD, PATH, SCALARS, STRING, Arg, StepKind

if TYPE_CHECKING:
    from pytest_cloudjob.scenarios.model import Step
    from pytest_cloudjob.scenarios.runner import ScenarioRunner


def _request(runner: ScenarioRunner, step: Step, actor: User) -> Any:
    args = runner.filled(step, step.spec.arg_names)
    answer = send(runner.context, actor.get_token(), args)
    if "expect_error" in step.args and answer["status"] >= 400:
        raise CloudApiError(args.get("method", "GET"), args["path"], status=answer["status"], body=answer["text"])
    answer.pop("text")
    return answer


KINDS = (
    StepKind("request", (
        Arg("method", METHOD, "default GET"), Arg("path", PATH, "below the cloud's URL, e.g. `/health`"),
        Arg("query", SCALARS), Arg("headers", HEADERS, "more request headers"),
        Arg("body", ANY, "sent as JSON"), Arg("raw_body", STRING, "sent as text"),
    ), "`{status, headers, body}`: `body` is the JSON answer (or its text); header names in lower case",
        ("path",), exclusive=(("body", "raw_body"),), scalar_fields=("status",), run=_request),
)
