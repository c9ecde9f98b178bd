"""The client's HTTP transport (``CloudAdapter``) against a real reference cloud on loopback: one kept-alive
connection per context, proxies still honoured, a connection dropped mid-body still a retried transport
error, and a closed context reconnecting."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_cloudjob import CloudContext, Job, User
from pytest_cloudjob.api.client import RetryPolicy
from pytest_cloudjob.api.errors import CloudApiError
from pytest_cloudjob.api.transport import CloudAdapter
from pytest_cloudjob.server.process import RunningCloud, start_reference_cloud

STATUSES = {"waiting", "running", "completed"}


def _pools(ctx: CloudContext) -> list:
    adapter = ctx.api.session.get_adapter(ctx.url)
    assert isinstance(adapter, CloudAdapter)
    return list(adapter._pools.values())


def test_many_status_calls_share_one_kept_alive_connection(ctx: CloudContext, user: User) -> None:
    ctx = CloudContext(ctx.url)
    job = Job()
    job.create(ctx, user)
    for _ in range(30):
        assert job.get_status(ctx, user)["status"] in STATUSES
    pools = _pools(ctx)
    assert len(pools) == 1 and pools[0].num_connections == 1
    _leave_nothing_running(ctx, job, user)


def test_a_closed_context_reconnects_instead_of_reusing_the_closed_pool(ctx: CloudContext, user: User) -> None:
    ctx = CloudContext(ctx.url)
    job = Job()
    job.create(ctx, user)
    job.get_status(ctx, user)
    closed = _pools(ctx)[0]
    ctx.close()
    assert job.get_status(ctx, user)["status"] in STATUSES
    assert _pools(ctx)[0] is not closed
    _leave_nothing_running(ctx, job, user)


def _leave_nothing_running(ctx: CloudContext, job: Job, user: User) -> None:
    """Cancel the job unless it ended first: a default job on sim:qa may complete within the test."""
    try:
        job.cancel(ctx, user)
    except CloudApiError as refused:
        if refused.status != 400:  # 400 is the protocol's answer to a cancel of an ended job
            raise


def test_a_proxy_setting_sends_the_full_url_to_the_proxy(reference_cloud: RunningCloud, user: User) -> None:
    # Nothing listens on port 9; only the proxy (the reference cloud itself, which accepts an absolute
    # request target) can answer, so the call succeeding proves the request went through the proxy.
    ctx = CloudContext("http://127.0.0.1:9", proxies={"http": reference_cloud.url}, connect_timeout=2)
    job = Job()
    job.create(ctx, user)
    assert job.get_status(ctx, user)["status"] in STATUSES
    _leave_nothing_running(ctx, job, user)


@pytest.fixture
def dropping_cloud(tmp_path: Path) -> Iterator[RunningCloud]:
    cloud = start_reference_cloud(tmp_path / "cloud.log", ["--drop-rate", "1"])
    yield cloud
    cloud.stop()


def test_a_connection_dropped_mid_body_is_a_transport_error_after_every_attempt(dropping_cloud: RunningCloud) -> None:
    ctx = CloudContext(dropping_cloud.url, retry=RetryPolicy(attempts=3, backoff=0.01))
    user = User(dropping_cloud.tokens["user"])
    job = Job()
    job.create(ctx, user)  # creates are never faulted
    with pytest.raises(CloudApiError) as caught:
        job.get_status(ctx, user)
    assert caught.value.kind == "transport" and caught.value.attempts == 3
    assert "ChunkedEncodingError" in str(caught.value)
    _leave_nothing_running(ctx, job, user)
