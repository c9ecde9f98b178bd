"""Issue 19, R1 (scenario side): a ``request`` step's ``path`` that fills at run time to another host's URL
(user-info, ``//``, a scheme, ``..``, a backslash, their percent-encoded forms, CR/LF) never sends the bearer
token anywhere: the step is a harness error naming ``file:line``, checked by the same function the loader
uses for a literal path, and nothing is sent.

The value comes from ``vars:``, from ``{env.X}``, and from a value saved from the cloud's own answer (a
job name the cloud returns). A second loopback listener stands for the attacker's host: it must receive no
connection at all.
"""
from __future__ import annotations

import json
import select
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_cloudjob.api.client import CloudContext
from pytest_cloudjob.api.cloud_objects import User
from pytest_cloudjob.scenarios.harness import HarnessError
from pytest_cloudjob.scenarios.loader import ScenarioFormatError, load_documents
from pytest_cloudjob.scenarios.model import parse_scenario
from pytest_cloudjob.scenarios.paths import path_problem
from pytest_cloudjob.scenarios.runner import ScenarioRunner, ScenarioSetup
from pytest_cloudjob.server.process import RunningCloud

#: Each way a filled path could leave the cloud's origin (``{port}``: the attacker's listener).
FORMS = {
    "user-info": "@127.0.0.1:{port}/stolen",
    "two slashes": "//127.0.0.1:{port}/stolen",
    "a scheme": "http://127.0.0.1:{port}/stolen",
    "dot-dot": "/../../127.0.0.1:{port}/stolen",
    "a backslash": "/\\\\127.0.0.1:{port}/stolen",
    "encoded at": "/%40127.0.0.1:{port}/stolen",
    "encoded slash": "/%2f%2f127.0.0.1:{port}/stolen",
    "encoded dot-dot": "/%2e%2e/%2e%2e/127.0.0.1:{port}",
    "encoded backslash": "/%5c%5c127.0.0.1:{port}/stolen",
    "CR LF": "/health\r\nHost: 127.0.0.1:{port}",
}
SOURCES = ("vars", "env", "saved")


class Listener:
    """The attacker's host: a plain socket on 127.0.0.1 that counts connections and closes each at once
    (so a client that did connect fails fast instead of waiting for an answer)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port: int = self.sock.getsockname()[1]
        self.connections = 0
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            conn.close()

    def connected(self) -> bool:
        """Whether any connection reached it (one still in the backlog counts too)."""
        readable, _, _ = select.select([self.sock], [], [], 0)
        return self.connections > 0 or bool(readable)

    def close(self) -> None:
        self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        self.thread.join(5)


@pytest.fixture
def listener() -> Iterator[Listener]:
    attacker = Listener()
    yield attacker
    attacker.close()


def _scenario(name: str, source: str, value: str, env_name: str) -> tuple[str, int]:
    """One scenario document whose last step is the request; its text and the request's line (1-based)."""
    quoted = json.dumps(value)
    if source == "vars":
        lines = [f"name: {name}", f"vars: {{target: {quoted}}}", "steps:", '  - request: {path: "{vars.target}"}']
    elif source == "env":
        lines = [f"name: {name}", "steps:", f'  - request: {{path: "{{env.{env_name}}}"}}']
    else:
        lines = [f"name: {name}", "steps:", f"  - create: {{job_name: {quoted}, save: job}}",
                 "  - read: {job: job, save: {next: job_name}}", '  - request: {path: "{next}"}']
    return "\n".join(lines) + "\n", len(lines)


def test_the_check_refuses_each_form_and_keeps_ordinary_paths():
    for form in FORMS.values():
        assert path_problem(form.format(port=8999)), form
    for fine in ("/health", "/api/job/status/abc-123", "/api/platforms/sim:qa/processor", "/x?email=a@b.c"):
        assert path_problem(fine) is None, fine


@pytest.mark.parametrize("form", sorted(FORMS))
def test_a_literal_path_of_each_form_is_a_load_time_error(tmp_path, form):
    value = FORMS[form].format(port=8999)
    path = tmp_path / "x.scenario.yaml"
    path.write_text(f"name: x\nsteps:\n  - request: {{path: {json.dumps(value)}}}\n")
    with pytest.raises(ScenarioFormatError, match=r"x\.scenario\.yaml:3: .*step 1 \(request\): 'path' must"):
        parse_scenario(load_documents(path)[0], path, 0)


def test_a_filled_path_never_reaches_another_host(pytester, listener, monkeypatch):
    port = listener.port
    documents, expected = [], {}
    line = 1
    for i, (form, template) in enumerate(sorted(FORMS.items())):
        value = template.format(port=port)
        for source in SOURCES:
            if source == "saved" and "\r" in value:
                continue  # a job name is text the cloud returns; CR/LF is tried from vars and env
            env_name = f"QA_TARGET_{i}"
            monkeypatch.setenv(env_name, value)
            name = f"{form} from {source}"
            text, request_line = _scenario(name, source, value, env_name)
            expected[name] = line + request_line - 1
            documents.append(text)
            line += text.count("\n") + 1  # the "---" separator
    pytester.makefile(".scenario.yaml", origin="---\n".join(documents))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:randomly")
    output = result.stdout.str()
    result.assert_outcomes(failed=len(expected))
    for name, request_line in expected.items():
        section = output.split(f" scenario: {name} [sim:qa] _")[1].split("\n____")[0]
        assert "harness error (the scenario, not the cloud)" in section, section
        assert f"origin.scenario.yaml:{request_line}: step " in section and "(request)" in section, section
        assert "'path' must" in section and "nothing was sent" in section, section
    assert "Traceback" not in output
    assert not listener.connected(), "a request step sent a call to another host"


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCloud]:
    from pytest_cloudjob.server.process import start_reference_cloud

    running = start_reference_cloud(tmp_path_factory.mktemp("cloud") / "cloud.log")
    yield running
    assert running.stop() == 0


@pytest.mark.parametrize("form", sorted(FORMS))
def test_nothing_is_sent_for_a_refused_filled_path(tmp_path, cloud, listener, form):
    value = FORMS[form].format(port=listener.port)
    path: Path = tmp_path / "x.scenario.yaml"
    path.write_text(_scenario("x", "vars", value, "")[0])
    scenario = parse_scenario(load_documents(path)[0], path, 0)
    context = CloudContext(cloud.url)
    users = {"user": User(cloud.tokens["user"], name="user"), "other": None, "admin": None}
    setup = ScenarioSetup(context=context, users=users, run_id="run-origin", slow_platform="sim:slow", pcvl_version="0.13",
                          timeout=30.0)
    runner = ScenarioRunner(scenario, "sim:qa", setup)
    try:
        with pytest.raises(HarnessError, match=r"x\.scenario\.yaml:4: step 1 \(request\): once its placeholders"):
            runner.run()
    finally:
        context.close()
    assert [call for call in runner.calls if call.endpoint == "request"] == []
    assert not listener.connected()
