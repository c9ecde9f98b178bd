"""The client over HTTPS, against the reference cloud serving TLS with a private CA: the way a company
cloud is reached. The CA is trusted through ``CloudContext(verify=...)`` or ``REQUESTS_CA_BUNDLE``; an
untrusted certificate is a transport error that says so at once, without retries."""
from __future__ import annotations

import json
import time

import pytest

from pytest_cloudjob import CloudContext, Job, User
from pytest_cloudjob.api.errors import CloudApiError
from pytest_cloudjob.physics import wire


def test_the_lifecycle_runs_over_https_with_the_ca_given_to_the_context(tls_cloud):
    assert tls_cloud.cloud.url.startswith("https://127.0.0.1:")
    ctx = CloudContext(tls_cloud.cloud.url, verify=str(tls_cloud.ca_bundle))
    user = User(tls_cloud.cloud.tokens["user"])
    job = Job()
    job.create(ctx, user)
    job.wait_until(ctx, user, "completed", timeout=20)
    # the default experiment (1 photon, filter 1) on an ideal platform: every one of the 1000 shots is a sample
    counts = wire.parse_results(json.loads(job.get_results(ctx, user)["results"])["results"])
    assert counts.is_counts and sum(counts.values.values()) == 1000


def test_the_ca_bundle_variable_is_honoured(tls_cloud, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls_cloud.ca_bundle))
    ctx = CloudContext(tls_cloud.cloud.url)
    job = Job()
    job.create(ctx, User(tls_cloud.cloud.tokens["user"]))
    job.cancel(ctx, User(tls_cloud.cloud.tokens["user"]))


def test_an_untrusted_certificate_fails_at_once_and_says_what_to_do(tls_cloud, monkeypatch):
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    ctx = CloudContext(tls_cloud.cloud.url)  # the system's CAs only
    token = tls_cloud.cloud.tokens["admin"]
    started = time.monotonic()
    with pytest.raises(CloudApiError) as caught:
        Job.list_all(ctx, User(token, is_admin=True))  # a read: retried for anything transient
    message = str(caught.value)
    assert caught.value.kind == "transport" and caught.value.attempts == 1, message
    assert "CERTIFICATE_VERIFY_FAILED" in message and "REQUESTS_CA_BUNDLE" in message
    assert token not in message
    assert time.monotonic() - started < 5
