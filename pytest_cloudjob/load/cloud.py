"""The target of a load run: a URL and tokens from the plugin's environment variables, or the embedded
reference cloud started as the plugin starts it, before Locust forks its ``--processes`` workers, so
every worker inherits the same URL, tokens and run id through the environment."""
from __future__ import annotations

import atexit
import os
import tempfile
import uuid
from pathlib import Path

from pytest_cloudjob.errors import CloudJobError
from pytest_cloudjob.redaction import register_secret
from pytest_cloudjob.run.settings import SETTINGS, TOKEN_ENV, check_token
from pytest_cloudjob.server.process import CloudStartError, RunningCloud, start_reference_cloud

URL_ENV = SETTINGS["url"].env
#: The run id every job of the load is tagged with (``process_id``), the same in every worker.
RUN_ID_ENV = "CLOUDJOB_LOAD_RUN_ID"
#: Arguments for the embedded cloud (e.g. ``--break create-id-race``), split on spaces.
CLOUD_ARGS_ENV = "CLOUDJOB_LOAD_CLOUD_ARGS"

_started: list[RunningCloud] = []
_starter: list[int] = []


class LoadTargetError(CloudJobError):
    """The load run has no usable target; the message names the variable to set."""


def run_id() -> str:
    """This run's id: the one given (by the master, or the environment), else a new one exported for
    the processes this one forks."""
    if not os.environ.get(RUN_ID_ENV):
        os.environ[RUN_ID_ENV] = f"load-{uuid.uuid4().hex[:12]}"
    return os.environ[RUN_ID_ENV]


def tokens() -> dict[str, str]:
    """The tokens of the environment by account name, registered as secrets (never shown)."""
    found: dict[str, str] = {}
    for name, env in TOKEN_ENV.items():
        value = os.environ.get(env, "")
        if value.strip():
            register_secret(value.strip())
            found[name] = check_token(value, env)
    return found


def ensure_target(worker: bool, cloud_args: list[str] | None = None) -> RunningCloud | None:
    """Start the embedded reference cloud unless a URL is given (or this is a worker, which gets its
    target from the environment); export its URL and tokens so forked workers inherit them."""
    run_id()
    if os.environ.get(URL_ENV):
        if "user" not in tokens():
            raise LoadTargetError(f"{URL_ENV} is set but no user token: set {TOKEN_ENV['user']}")
        return None
    if worker:
        raise LoadTargetError(f"a worker needs its target: set {URL_ENV} and {TOKEN_ENV['user']} "
                              f"(and {TOKEN_ENV['admin']}) as on the master")
    if _started:
        return _started[0]
    log = Path(tempfile.gettempdir()) / "pytest-cloudjob" / os.environ[RUN_ID_ENV] / "reference-cloud.log"
    args = cloud_args if cloud_args is not None else os.environ.get(CLOUD_ARGS_ENV, "").split()
    try:
        cloud = start_reference_cloud(log, args)
    except CloudStartError as exc:
        raise LoadTargetError(f"the embedded reference cloud did not start: {exc}") from None
    _started.append(cloud)
    _starter.append(os.getpid())
    atexit.register(stop_embedded)
    os.environ[URL_ENV] = cloud.url
    for name, env in TOKEN_ENV.items():
        register_secret(cloud.tokens[name])
        os.environ[env] = cloud.tokens[name]
    return cloud


def embedded() -> RunningCloud | None:
    """The embedded cloud this process started, if any."""
    return _started[0] if _started else None


def stop_embedded() -> None:
    """Stop the embedded cloud, in the process that started it only (a forked worker inherits the list)."""
    if _started and _starter == [os.getpid()]:
        _started[0].stop()
