"""``python -m pytest_cloudjob.mutation`` as a QA engineer uses it on their own suite: real reference
clouds, real pytest subprocesses, and the verdicts, table, JSON and exit status they rely on."""
from __future__ import annotations

import json
import sys

import pytest

from pytest_cloudjob.mutation.probe import FIRST_ENV
from pytest_cloudjob.mutation.runs import Failure, Killers, Mutant, Outcome
from pytest_cloudjob.server.defects import CATALOGUE, TRANSIENT

PLATFORM_ONLY = """\
name: platform details are served on both paths
steps:
  - platform: {expect: {name: "{platform}"}}
  - platform: {legacy: true, expect: {name: "{platform}"}}
"""


def mutation(pytester: pytest.Pytester, *args: str) -> tuple[pytest.RunResult, dict]:
    report = pytester.path / "mutation.json"
    result = pytester.run(sys.executable, "-m", "pytest_cloudjob.mutation", *args, "--json", str(report), timeout=120)
    return result, json.loads(report.read_text()) if report.exists() else {}


def test_a_survivor_is_named_and_the_score_is_held_against_min(pytester: pytest.Pytester) -> None:
    pytester.makefile(".scenario.yaml", platforms=PLATFORM_ONLY)
    result, data = mutation(pytester, ".", "--fault", "unbroken", "--defect", "no-progress",
                            "--defect", "legacy-platform-path-missing", "--min", "0.5")
    table = result.stdout.str()
    assert result.ret == 0, table
    runs = {run["name"]: run for run in data["runs"]}
    assert runs["unbroken"]["verdict"] == "green" and runs["unbroken"]["passed"] == 1
    assert runs["no-progress"]["verdict"] == "SURVIVED" and not runs["no-progress"]["failures"]
    killer = runs["legacy-platform-path-missing"]["failures"][0]
    assert killer["test"] == "platforms.scenario.yaml::platform details are served on both paths[sim:qa]"
    assert killer["text"].startswith(f"{pytester.path / 'platforms.scenario.yaml'}:4: step 2 (platform) failed on sim:qa")
    assert (data["killed"], data["defects"], data["score"]) == (1, 2, 0.5)
    assert "no-progress" in table and "SURVIVED" in table and "mutation score: 1/2 defects killed (50%)" in table

    below, _ = mutation(pytester, ".", "--no-faults", "--defect", "no-progress")
    assert below.ret == 1, below.stdout.str()


def test_python_tests_are_named_as_killers_and_a_transport_error_kills_nothing(pytester: pytest.Pytester) -> None:
    """A call that gets no answer fails first in both runs: it neither stops a run before its killer nor
    kills a defect on its own (``legacy-platform-path-missing``: no test here checks that path)."""
    pytester.makepyfile(test_progress="""
        import socket
        from pytest_cloudjob.api.client import CloudContext

        def test_a_call_gets_no_answer():
            with socket.socket() as closed:
                closed.bind(("127.0.0.1", 0))
                port = closed.getsockname()[1]
            CloudContext(f"http://127.0.0.1:{port}", connect_timeout=0.5, call_timeout=2).api.request(
                "GET", "/platforms", None)

        def test_the_status_body_holds_progress(cloud_job_factory, cloud_context, cloud_user):
            job = cloud_job_factory.create()
            assert "progress" in job.get_status(cloud_context, cloud_user)
    """)
    result, data = mutation(pytester, "test_progress.py", "--no-faults", "--defect", "no-progress",
                            "--defect", "legacy-platform-path-missing", "--min", "0.5")
    out = result.stdout.str()
    assert result.ret == 0, out
    runs = {run["name"]: run for run in data["runs"]}
    killed, blip = runs["no-progress"], runs["legacy-platform-path-missing"]
    assert killed["verdict"] == "killed"
    assert [f["test"] for f in killed["failures"]] == ["test_progress.py::test_a_call_gets_no_answer",
                                                       "test_progress.py::test_the_status_body_holds_progress[sim:qa]"]
    assert killed["failures"][0]["transport"].startswith("GET /platforms -> transport error")
    assert "assert 'progress' in" in killed["failures"][1]["text"] and not killed["failures"][1]["transport"]
    assert blip["verdict"] == "INCONCLUSIVE (transport)" and not blip["ok"]
    assert (data["killed"], data["inconclusive"], data["defects"], data["baseline"]) == (1, 1, 2, "unchecked")
    assert "test_progress.py::test_a_call_gets_no_answer: GET /platforms -> transport error" in out
    assert out.splitlines()[-1].startswith(
        "mutation score: 1/2 defects killed (50%), 1 INCONCLUSIVE (transport) not counted as killed, "
        "kills not checked against a baseline (no unbroken run finished);")


def test_first_from_an_earlier_report_starts_each_defect_run_with_its_last_killer(pytester: pytest.Pytester) -> None:
    """The second run reads the first's JSON: the defect run starts with the test that killed it, so it stops
    there (0 passed before the kill, 3 the first time); the verdict and the killer are the same."""
    pytester.makepyfile(test_order="""
        import pytest

        @pytest.mark.parametrize("n", range(3))
        def test_a_quick_one(n):
            assert n in range(3)

        def test_the_status_body_holds_progress(cloud_job_factory, cloud_context, cloud_user):
            job = cloud_job_factory.create()
            assert "progress" in job.get_status(cloud_context, cloud_user)
    """)
    earlier = pytester.path / "earlier.json"
    first, _ = mutation(pytester, "test_order.py", "--no-faults", "--defect", "no-progress")
    (pytester.path / "mutation.json").rename(earlier)
    again, data = mutation(pytester, "test_order.py", "--no-faults", "--defect", "no-progress", "--first-from",
                           str(earlier))
    assert first.ret == again.ret == 0, again.stdout.str()
    before = json.loads(earlier.read_text())["runs"][0]
    run = data["runs"][0]
    assert (before["verdict"], before["passed"]) == ("killed", 3), before
    assert (run["verdict"], run["passed"]) == ("killed", 0), run
    assert [f["test"] for f in run["failures"]] == [f["test"] for f in before["failures"]]


def test_a_first_from_file_that_is_not_a_report_is_a_usage_error_naming_it(pytester: pytest.Pytester) -> None:
    (pytester.path / "notes.json").write_text('{"killed": 3}')
    result = pytester.run(sys.executable, "-m", "pytest_cloudjob.mutation", ".", "--first-from", "notes.json")
    assert result.ret == 2
    assert "--first-from notes.json: not a mutation --json report (no 'runs' list)" in result.stderr.str()


def test_a_suite_red_on_the_unbroken_cloud_fails_the_command(pytester: pytest.Pytester) -> None:
    pytester.makefile(".scenario.yaml", wrong="""\
name: expects a platform name the cloud does not have
steps:
  - platform: {expect: {name: not-this-one}}
""")
    result, data = mutation(pytester, ".", "--fault", "unbroken", "--defect", "no-progress", "--min", "0")
    assert result.ret == 1
    assert data["runs"][0]["verdict"] == "RED (must stay green)"
    assert "RED (must stay green)" in result.stdout.str()
    # the defect run is red too, as the suite is without any defect: no kill, no score
    assert data["runs"][1]["verdict"] == "killed (not counted: unbroken is red)" and not data["runs"][1]["ok"]
    assert (data["score"], data["baseline"], data["killed"], data["in_progress"]) == (None, "red", 0, False)
    assert result.stdout.str().splitlines()[-1].startswith(
        "no score: the unbroken cloud is red (1 test fails without any defect, first: wrong.scenario.yaml::"
        "expects a platform name the cloud does not have[sim:qa]): fix the suite or the target first;")
    progress = result.stderr.str()  # in the table's words
    assert "  unbroken: RED (must stay green) (" in progress and "  no-progress: killed (" in progress


def test_a_run_past_its_time_limit_is_stopped_and_reported(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_hang="""
        import time
        def test_hangs(cloud_context):
            time.sleep(60)
    """)
    result, data = mutation(pytester, "test_hang.py", "--no-faults", "--defect", "no-progress", "--run-timeout", "4")
    assert result.ret == 1
    assert data["runs"][0]["state"] == "timeout" and data["runs"][0]["seconds"] < 30
    assert "TIMEOUT" in result.stdout.str()


def test_usage_errors_name_the_bad_argument_and_the_choices(pytester: pytest.Pytester) -> None:
    result = pytester.run(sys.executable, "-m", "pytest_cloudjob.mutation", ".", "--defect", "no-progres")
    assert result.ret == 2
    assert "--defect 'no-progres': unknown; known: anonymous-allowed" in result.stderr.str()
    result = pytester.run(sys.executable, "-m", "pytest_cloudjob.mutation", ".", "--min", "2")
    assert result.ret == 2 and "--min must be between 0 and 1" in result.stderr.str()


def test_the_catalogue_is_listed_with_each_promise_and_design_row(pytester: pytest.Pytester) -> None:
    result = pytester.run(sys.executable, "-m", "pytest_cloudjob.mutation", "--list")
    out = result.stdout.str()
    assert result.ret == 0
    for defect in CATALOGUE.values():
        assert f"breaks: {defect.promise} [{defect.row}]" in out
    for profile in TRANSIENT.values():
        assert f"must stay green: {profile.what}" in out


def test_fault_repeats_run_each_profile_again_and_defects_can_be_left_out() -> None:
    from pytest_cloudjob.mutation.runs import mutants

    plan = mutants([], ["unbroken", "503-bursts"], fault_repeats=3)
    assert [m.name for m in plan] == ["unbroken#1", "503-bursts#1", "unbroken#2", "503-bursts#2",
                                      "unbroken#3", "503-bursts#3"]
    assert all(m.must_pass for m in plan)
    everything = mutants()
    assert [m.name for m in everything if not m.must_pass] == list(CATALOGUE)
    assert [m.server_args for m in everything if m.name == "no-progress"] == [("--break", "no-progress")]


def test_the_latest_killers_run_first_and_the_rest_keep_their_order(pytester: pytest.Pytester,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """What makes a defect run that stops at its first failure short: the probe puts the tests that killed
    the defects just before first, and changes nothing else (the same tests run)."""
    pytester.makepyfile(test_a="def test_1(): pass\ndef test_2(): pass\n", test_b="def test_3(): pass\n")
    monkeypatch.setenv(FIRST_ENV, json.dumps(["test_b.py::test_3", "test_a.py::test_2", "gone.py::test_0"]))
    result = pytester.runpytest("-p", "pytest_cloudjob.mutation.probe", "-v")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*test_b.py::test_3 PASSED*", "*test_a.py::test_2 PASSED*",
                                 "*test_a.py::test_1 PASSED*"])
    monkeypatch.setenv(FIRST_ENV, "not json")
    pytester.runpytest("-p", "pytest_cloudjob.mutation.probe", "-v").stdout.fnmatch_lines(
        ["*test_a.py::test_1 PASSED*", "*test_a.py::test_2 PASSED*", "*test_b.py::test_3 PASSED*"])


def test_killers_are_kept_latest_first_from_defect_runs_only() -> None:
    killers = Killers(keep=2)
    defect, fault = (Mutant("d", "a promise", ("--break", "d"), False), Mutant("f", "a fault", (), True))
    killers.record(Outcome(defect, "failed", 1.0, [Failure("t1", ""), Failure("t2", "")]))
    assert killers.first() == ["t1", "t2"]
    killers.record(Outcome(defect, "failed", 1.0, [Failure("t3", "")]))
    killers.record(Outcome(fault, "failed", 1.0, [Failure("t4", "")]))  # a red fault run kills nothing
    killers.record(Outcome(defect, "passed", 1.0))
    assert killers.first() == ["t3", "t1"]
    killers.record(Outcome(defect, "failed", 1.0, [Failure("t1", "")]))
    assert killers.first() == ["t1", "t3"]
