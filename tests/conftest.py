"""Shared fixtures of the project's own tests: a reference cloud subprocess on loopback."""
from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from warm_cache import fill as fill_warm_cache

from pytest_cloudjob import CloudContext, User
from pytest_cloudjob.api.client import RetryPolicy
from pytest_cloudjob.physics import cache
from pytest_cloudjob.run.settings import SETTINGS, TOKEN_ENV
from pytest_cloudjob.server.process import RunningCloud, start_reference_cloud
from pytest_cloudjob.server.tls import issue_loopback_certificate

# Every variable the plugin reads, from its own tables: a setting added there is cleared here too.
CLOUDJOB_VARIABLES = tuple(sorted({s.env for s in SETTINGS.values()} | set(TOKEN_ENV.values())))

# The [test] extra installs hypothesis', schemathesis', locust's and anyio's pytest plugins, which load into every
# pytest start (~2.7 s of CPU each) though this suite uses them as libraries only. pyproject's addopts keeps
# them out of this run; the variable keeps them out of every pytest it starts (mutation, reliability runs), and
# the pytester fixture below sets it again after pytester's own isolation has removed it.
UNUSED_PLUGINS = "-p no:hypothesispytest -p no:schemathesis -p no:locust -p no:anyio"
os.environ["PYTEST_ADDOPTS"] = f"{os.environ.get('PYTEST_ADDOPTS', '')} {UNUSED_PLUGINS}".strip()

# Containers often set PYTHONDONTWRITEBYTECODE (this one does). Then every Python process the suite starts
# (hundreds: pytest runs, reference clouds, mutation runs, xdist workers) compiles pytest_cloudjob from source
# again, 0.3 s of CPU each start. The suite's processes keep compiled modules (__pycache__, ignored by git).
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
sys.dont_write_bytecode = False

# One physics cache for every process the suite starts (pytest runs, clouds, workers): an experiment is
# simulated once per suite run, not once per process (docs/physics.md); never the user's own cache.
os.environ.setdefault(cache.CACHE_ENV, str(Path(tempfile.gettempdir()) / f"pytest-cloudjob-physics-cache-{os.getuid()}"))


@pytest.fixture
def pytester(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """pytest's own pytester, whose runs load only the plugins a user of pytest-cloudjob has. An in-process run
    inside this pytest finds pytest_cloudjob imported already, and pytest warns that it cannot rewrite its
    asserts: an artefact of the nesting (a user's run never nests), kept out of the output the tests read."""
    monkeypatch.setenv("PYTEST_ADDOPTS", f"{UNUSED_PLUGINS} -W ignore::pytest.PytestAssertRewriteWarning")
    return pytester


@pytest.fixture(scope="session")
def reference_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCloud]:
    """One reference cloud for the session, with a 2 s qpu:qa so queueing is observable."""
    cloud = start_reference_cloud(tmp_path_factory.mktemp("cloud") / "cloud.log", ["--run-time", "qpu:qa=2"])
    yield cloud
    assert cloud.stop() == 0, f"reference cloud did not stop cleanly; log: {cloud.log_path}"


@pytest.fixture(scope="session")
def ctx(reference_cloud: RunningCloud) -> CloudContext:
    return CloudContext(reference_cloud.url, retry=RetryPolicy(attempts=3, backoff=0.01))


@pytest.fixture(scope="session")
def user(reference_cloud: RunningCloud) -> User:
    return User(token=reference_cloud.tokens["user"], name="user")


@pytest.fixture(scope="session")
def other(reference_cloud: RunningCloud) -> User:
    return User(token=reference_cloud.tokens["other"], name="other")


@pytest.fixture(scope="session")
def admin(reference_cloud: RunningCloud) -> User:
    return User(token=reference_cloud.tokens["admin"], is_admin=True, name="admin")



@dataclass
class TlsCloud:
    cloud: RunningCloud
    ca_bundle: Path  # the PEM of the private CA that signed the cloud's certificate


@pytest.fixture(scope="session")
def tls_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsCloud]:
    """A reference cloud serving HTTPS with a certificate for 127.0.0.1 from a private CA."""
    folder = tmp_path_factory.mktemp("tls")
    certificate = issue_loopback_certificate(folder)
    cloud = start_reference_cloud(folder / "cloud.log", certificate.server_args())
    yield TlsCloud(cloud, certificate.ca_bundle)
    assert cloud.stop() == 0, f"reference cloud did not stop cleanly; log: {cloud.log_path}"


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No CLOUDJOB_* variable of the developer's shell reaches a run under test."""
    for name in CLOUDJOB_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def against(reference_cloud: RunningCloud, monkeypatch: pytest.MonkeyPatch) -> RunningCloud:
    """Runs under test target the session's reference cloud by URL, with its three tokens in the environment."""
    monkeypatch.setenv(SETTINGS["url"].env, reference_cloud.url)
    for role, env in TOKEN_ENV.items():
        monkeypatch.setenv(env, reference_cloud.tokens[role])
    return reference_cloud


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "heavy(seconds): minutes of subprocesses; started first, each on a worker of its own "
                                       "(seconds: a rough wall time on CI, longest first)")
    if getattr(config.option, "maxschedchunk", "no xdist") is None:
        # xdist's default hands each worker a quarter of its share up front as one block of consecutive tests, so
        # the heavy tests at the front all went to one worker (it ran 350 s, the other three 100 s each). One test
        # at a time, each worker holds one test beside the one it runs, and the order below decides who gets what.
        config.option.maxschedchunk = 1
    if not hasattr(config, "workerinput"):  # the controller, before any worker or cloud starts
        fill_warm_cache()  # the tests' own physics, computed once for every fresh machine


def _heavy_seconds(item: pytest.Item) -> float:
    marker = item.get_closest_marker("heavy")
    return 0.0 if marker is None else float(marker.kwargs.get("seconds", marker.args[0] if marker.args else 1))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The longest tests first (the classic packing rule), each followed by a light one: under ``-n`` with one test
    sent at a time a worker holds two tests, so the one queued behind a heavy test is a light one and the next heavy
    test goes to another worker, instead of two heavy tests running one after the other on the same worker."""
    heavy = sorted((item for item in items if _heavy_seconds(item)), key=_heavy_seconds, reverse=True)
    light = [item for item in items if not _heavy_seconds(item)]
    ordered: list[pytest.Item] = []
    for item in heavy:
        ordered.append(item)
        if light:
            ordered.append(light.pop())  # from the end: unit tests, quick
    items[:] = ordered + light
