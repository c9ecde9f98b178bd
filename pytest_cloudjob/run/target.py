"""The target of a run: the cloud given by URL, or the embedded reference cloud started for it, and
the preflight check that stops a run with one readable line when the target cannot be used."""
from __future__ import annotations

import atexit
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from pytest_cloudjob.api.client import CloudContext, RetryPolicy, calls_end_by
from pytest_cloudjob.api.cloud_objects import Job, Platform, User
from pytest_cloudjob.api.errors import CloudApiError
from pytest_cloudjob.errors import CloudJobError
from pytest_cloudjob.redaction import redact, register_secret
from pytest_cloudjob.run.budget import AlphaBudget
from pytest_cloudjob.run.job_traces import RunStats
from pytest_cloudjob.run.settings import TOKEN_ENV, CloudSettings, configured_user
from pytest_cloudjob.server.platforms import default_platforms
from pytest_cloudjob.server.process import CloudStartError, RunningCloud, start_reference_cloud
from pytest_cloudjob.text import closest


class TargetError(CloudJobError):
    """The target cannot be used; the message is one line naming the setting to fix (redacted: it often
    names the URL, which may carry a password)."""

    def __init__(self, message: str) -> None:
        super().__init__(redact(message))


def prepare_or_exit(run: CloudRun) -> None:
    """Start and check the run's target, or stop the whole run with the one line that says why.

    The one place that turns a :class:`TargetError` into the end of the run: the cloud is stopped
    first, then pytest exits with a usage error, whichever hook or fixture asked first.
    """
    try:
        run.prepare()
    except TargetError as exc:
        run.stop()
        pytest.exit(str(exc), returncode=pytest.ExitCode.USAGE_ERROR)


@dataclass
class CloudRun:
    """One pytest run against one cloud: its settings, run id, URL and tokens, and what it did."""

    settings: CloudSettings
    run_id: str
    url: str | None = None
    tokens: dict[str, str] = field(default_factory=dict, repr=False)
    reference_cloud: RunningCloud | None = None
    log_path: Path | None = None
    ready: bool = False
    stats: RunStats = field(default_factory=RunStats)
    leaks: list[tuple[str, str, str, str]] = field(default_factory=list)
    swept: int | None = None
    sweep_error: str = ""
    #: The sweep was not run by the user's choice (``--cloud-no-sweep``).
    sweep_skipped: bool = False
    #: Active jobs the sweep could not cancel, with why.
    uncancelled: dict[str, str] = field(default_factory=dict)
    #: Listed jobs in a status outside the protocol's, as (job id, platform, status).
    unknown_statuses: list[tuple[str, str, str]] = field(default_factory=list)
    #: Why the slow platform cannot be used (it was not given and the cloud does not have the default).
    slow_platform_missing: str = ""
    #: The run's false-alarm budget and what its statistical checks found (``--cloud-alpha``).
    budget: AlphaBudget = field(default_factory=AlphaBudget)
    _shared: CloudContext | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.budget.alpha = self.settings.alpha

    def context(self) -> CloudContext:
        """A new context on the target (the caller closes it)."""
        assert self.url is not None
        return CloudContext(self.url, call_timeout=self.settings.call_timeout,
                            max_response_bytes=self.settings.max_response_bytes)

    def shared_context(self) -> CloudContext:
        """The run's one context, shared by the fixtures and the scenarios; its calls feed the statistics."""
        if self._shared is None:
            self._shared = self.context()
            self._shared.api.listeners.append(self.stats.on_call)
        return self._shared

    def user(self, name: str) -> User | None:
        """The configured user ``name`` (``user``, ``other``, ``admin``), or ``None`` when its token is not set."""
        return configured_user(self.tokens, name)

    def user_or_skip(self, name: str, what: str) -> User:
        """The configured user ``name``, or a skip of the test that asked for it, saying what to set."""
        user = self.user(name)
        if user is None:
            pytest.skip(f"no {what}: set {TOKEN_ENV[name]} (or '{name}' in --cloud-token-file)")
        return user

    def worker_info(self) -> dict[str, Any]:
        """What an xdist worker needs to join this run (tokens travel over the workers' private channel)."""
        return {"run_id": self.run_id, "url": self.url, "tokens": dict(self.tokens)}

    @classmethod
    def for_worker(cls, settings: CloudSettings, info: dict[str, Any]) -> CloudRun:
        """The run as an xdist worker joins it, from :meth:`worker_info` (its target already prepared)."""
        for token in info["tokens"].values():
            register_secret(token)
        return cls(settings, info["run_id"], info["url"], dict(info["tokens"]), ready=True)

    def prepare(self) -> None:
        """Start the embedded cloud if no URL was given, then check the target; idempotent."""
        if self.ready:
            return
        if self.settings.url is None and self.reference_cloud is None:
            self.log_path = Path(tempfile.gettempdir()) / "pytest-cloudjob" / self.run_id / "reference-cloud.log"
            try:
                self.reference_cloud = start_reference_cloud(self.log_path)
            except CloudStartError as exc:
                raise TargetError(f"the embedded reference cloud did not start: {exc}") from None
            atexit.register(self.reference_cloud.stop)
            self.url = self.reference_cloud.url
            self.tokens = dict(self.reference_cloud.tokens)
            for token in self.tokens.values():
                register_secret(token)
        elif self.settings.url is not None:
            self.url = self.settings.url
            self.tokens = dict(self.settings.tokens)
        preflight(self)
        if "admin" not in self.tokens and not self.settings.no_sweep:
            raise TargetError("no admin token: the end-of-run leak sweep could not list this run's jobs, so "
                              "leaked jobs would go unseen; set CLOUDJOB_ADMIN_TOKEN (or 'admin' in "
                              "--cloud-token-file), or accept a run without the sweep with --cloud-no-sweep "
                              "(CLOUDJOB_NO_SWEEP=1 / ini cloud_no_sweep = true)")
        self.ready = True

    def stop(self) -> None:
        """Close the shared context and stop the embedded cloud, if any."""
        if self._shared is not None:
            self._shared.close()
            self._shared = None
        if self.reference_cloud is not None:
            self.reference_cloud.stop()
            self.reference_cloud = None


#: The preflight's time in all: three attempts per call ride out a flaky cloud's 503s, and a silent one
#: still stops the run within this many seconds.
PREFLIGHT_DEADLINE = 30.0


def preflight(run: CloudRun) -> None:
    """One call per configured platform and the slow platform, and one admin call if an admin token is set,
    so a wrong URL, token or platform stops the run before a hundred tests fail the same way."""
    with calls_end_by(time.monotonic() + PREFLIGHT_DEADLINE):
        _preflight(run)


def _preflight(run: CloudRun) -> None:
    context = CloudContext(run.url or "", connect_timeout=5, read_timeout=15, retry=RetryPolicy(attempts=3))
    user = run.user("user")
    assert user is not None
    where = "the embedded reference cloud" if run.reference_cloud else f"{run.url} (--cloud-url / CLOUDJOB_URL)"
    path = urlsplit(run.url or "").path.rstrip("/")
    path_hint = (f"; the URL has the path {path!r}: if the cloud serves /api at its root, drop the path"
                 if path and not run.reference_cloud else "")
    settings = run.settings
    checks = [(p, "--cloud-platform / CLOUDJOB_PLATFORMS / cloud_platforms") for p in settings.platforms]
    if settings.slow_platform not in settings.platforms:
        checks.append((settings.slow_platform, "--cloud-slow-platform / CLOUDJOB_SLOW_PLATFORM / cloud_slow_platform"))
    try:
        answered: list[str] = []
        unknown: list[tuple[str, str]] = []
        for platform, names in checks:
            try:
                Platform(platform).details(context, user)
                answered.append(platform)
            except CloudApiError as exc:
                if exc.status != 404:
                    raise
                if platform == settings.slow_platform and not settings.slow_platform_given \
                        and platform not in settings.platforms:
                    # The default slow platform is only needed by tests that ask for it: they skip, saying why.
                    run.slow_platform_missing = (f"the slow platform {platform!r} (the default) is unknown to "
                                                 f"{where}: name one with --cloud-slow-platform")
                    continue
                unknown.append((platform, names))
        if unknown:
            platform, names = unknown[0]
            raise TargetError(f"unknown platform {platform!r} on {where}: the cloud answered 404 "
                              f"({names}){path_hint}; {_known_platforms(run, platform, answered)}")
        admin = run.user("admin")
        if admin is not None:
            try:
                Job.list_all(context, admin, process_id=run.run_id)
            except CloudApiError as exc:
                if exc.status in (401, 403):
                    raise TargetError(f"{where} refused the admin token with HTTP {exc.status} "
                                      "(CLOUDJOB_ADMIN_TOKEN / --cloud-token-file)") from None
                raise
    except CloudApiError as exc:
        if exc.kind == "transport":
            raise TargetError(f"cannot reach {where}: {exc.reason}") from None
        if exc.status == 401:
            raise TargetError(f"{where} refused the user token with HTTP 401 "
                              "(CLOUDJOB_TOKEN / --cloud-token-file)") from None
        raise TargetError(redact(f"{where} failed its first call: {exc}")) from None
    finally:
        context.close()


def _known_platforms(run: CloudRun, platform: str, answered: list[str]) -> str:
    """The platforms the target is known to have, with the nearest to ``platform``: the embedded cloud's own,
    or (the protocol lists no platforms) those of this run a cloud by URL answered for."""
    if run.reference_cloud is not None:
        known = sorted(default_platforms())
        what = f"its platforms: {', '.join(known)}"
    else:
        known = answered
        what = (f"of this run's platforms it knows {', '.join(known)}" if known else "it knows none of this run's")
        what += " (the protocol has no listing of platforms: its operators know their names)"
    return f"{what}{closest(platform, known, 0.6)}"


#: Where pytest keeps the run's :class:`CloudRun` (``config.stash[RUN]``), set in ``pytest_configure``.
RUN = pytest.StashKey[CloudRun]()
