"""What the mutation score counts, without starting a cloud: a kill only on a green unbroken baseline, never
by transport errors alone (the probe's record and stop rule, in-process), progress lines in the table's
words, and the JSON on disk after every finished run."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pytest_cloudjob.mutation import schedule
from pytest_cloudjob.mutation.children import Children
from pytest_cloudjob.mutation.probe import OUTPUT_ENV, STOP_ENV
from pytest_cloudjob.mutation.report import PartialJson, ReportError, killers_of_report, score_line, table, to_json
from pytest_cloudjob.mutation.runs import Failure, Killers, Mutant, Outcome, RunSettings, mutants

UNBROKEN = Mutant("unbroken", "the reference cloud as it is", (), True, baseline=True)
SLOW = Mutant("slow-answers", "every answer 50 ms late", ("--latency", "0.05"), True)
DEFECT = Mutant("no-progress", "the status body holds 'progress'", ("--break", "no-progress"), False)
OTHER = Mutant("anonymous-allowed", "a call without a token is refused", ("--break", "anonymous-allowed"), False)
TIMED_OUT = "GET /jobs/1/status -> transport error; timed out"


def test_only_the_unbroken_profile_is_the_baseline() -> None:
    assert [m.name for m in mutants([], None) if m.baseline] == ["unbroken"]
    assert [m.name for m in mutants([], ["unbroken"], fault_repeats=2) if m.baseline] == ["unbroken#1", "unbroken#2"]


def test_a_red_baseline_leaves_no_score_and_a_green_one_counts_the_kills() -> None:
    kill = Outcome(DEFECT, "failed", 1.0, [Failure("t.py::test_status", "assert 'progress' in {}")])
    survivor = Outcome(OTHER, "passed", 1.0, passed=3)
    red = Outcome(UNBROKEN, "failed", 1.0, [Failure("t.py::test_a", "boom"), Failure("t.py::test_b", "boom")])
    line = score_line([red, kill, survivor], 2.0)
    assert line == ("no score: the unbroken cloud is red (2 tests fail without any defect, first: t.py::test_a): "
                    "fix the suite or the target first; 0/1 fault runs green; wall time 2.0s")
    data = to_json([red, kill, survivor], 2.0)
    assert (data["score"], data["baseline"], data["killed"], data["defects"]) == (None, "red", 0, 2)
    assert "killed (not counted: unbroken is red)" in table([red, kill, survivor], 2.0)

    timeout = Outcome(UNBROKEN, "timeout", 9.0, detail="the suite did not finish within 4s")
    assert score_line([timeout, kill], 9.0).startswith(
        "no score: the unbroken cloud is red (unbroken: TIMEOUT, the suite did not finish within 4s)")

    green = Outcome(UNBROKEN, "passed", 1.0, passed=3)
    assert score_line([green, kill, survivor], 2.0).startswith("mutation score: 1/2 defects killed (50%); 1/1 fault")
    assert (to_json([green, kill], 1.0)["score"], to_json([green, kill], 1.0)["baseline"]) == (1.0, "green")
    # a fault run other than unbroken is no baseline: the kills are counted, and said to be unchecked
    unchecked = score_line([Outcome(SLOW, "passed", 1.0), kill], 1.0)
    assert unchecked.startswith("mutation score: 1/1 defects killed (100%), kills not checked against a baseline")
    assert to_json([kill], 1.0)["baseline"] == "unchecked"


def test_a_run_red_by_transport_errors_only_is_inconclusive_and_kills_nothing() -> None:
    blip = Outcome(DEFECT, "failed", 1.0, [Failure("t.py::test_status", "...", TIMED_OUT)])
    both = Outcome(OTHER, "failed", 1.0, [Failure("t.py::test_status", "...", TIMED_OUT),
                                          Failure("t.py::test_token", "expected HTTP 401")])
    assert blip.inconclusive and not blip.ok and both.ok and not both.inconclusive
    rows = table([blip, both], 1.0)
    assert f"INCONCLUSIVE (transport)  1.0s  t.py::test_status: {TIMED_OUT}" in rows
    assert rows.splitlines()[-1].startswith("mutation score: 1/2 defects killed (50%), 1 INCONCLUSIVE (transport) "
                                            "not counted as killed")
    killers = Killers()
    killers.record(blip)
    killers.record(both)
    assert killers.first() == ["t.py::test_token"]  # a transport failure is nobody's kill
    # on a must-stay-green run a transport error is red like any failure
    assert not Outcome(UNBROKEN, "failed", 1.0, [Failure("t.py::test_status", "...", TIMED_OUT)]).ok


@pytest.mark.parametrize("xdist", [False, True], ids=["alone", "xdist"])
def test_the_probe_marks_transport_failures_and_stops_at_the_first_other_one(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, xdist: bool) -> None:
    """Under xdist too, each outcome written once (by the worker that ran it, with the test's own text)."""
    pytester.makepyfile(test_order="""
        from pytest_cloudjob.api.errors import CloudApiError

        def no_answer():
            return CloudApiError("GET", "/jobs/1/status", kind="transport", reason="timed out")

        def test_1_no_answer():
            raise no_answer()

        def test_2_a_step_wraps_it():  # as a scenario step does: its failure raised while handling the error
            try:
                raise no_answer()
            except CloudApiError:
                raise AssertionError("step 1 (status) failed: the call failed")

        def test_3_an_answer_of_the_cloud_is_wrong():
            raise CloudApiError("GET", "/jobs/1/status", status=500)

        def test_4_not_run():
            pass
    """)
    out = pytester.path / "outcomes.jsonl"
    monkeypatch.setenv(OUTPUT_ENV, str(out))
    monkeypatch.setenv(STOP_ENV, "1")
    result = pytester.runpytest("-p", "pytest_cloudjob.mutation.probe", "-p", "no:cacheprovider", "-p", "no:randomly",
                                *(["-n", "1"] if xdist else []))
    result.assert_outcomes(failed=3)
    assert result.ret == (2 if xdist else 1)  # as -x stops (xdist's controller calls it an interruption)
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert "test_order.py:" in records[2]["text"] and not records[2]["text"].startswith("[gw")
    assert [(r["nodeid"].split("::")[1], r["transport"]) for r in records] == [
        ("test_1_no_answer", "GET /jobs/1/status -> transport error; timed out"),
        ("test_2_a_step_wraps_it", "GET /jobs/1/status -> transport error; timed out"),
        ("test_3_an_answer_of_the_cloud_is_wrong", "")]


def test_a_run_xdist_stopped_at_a_failure_is_read_as_red_and_an_interrupted_one_without_as_a_harness_error(
        tmp_path: Path) -> None:
    from pytest_cloudjob.mutation.runs import _read_probe

    probe = tmp_path / "outcomes.jsonl"
    probe.write_text(json.dumps({"nodeid": "t.py::test_a", "when": "call", "outcome": "failed", "text": "boom",
                                 "transport": ""}) + "\n")
    outcome = _read_probe(DEFECT, probe, 2, 1.0)
    assert outcome.state == "failed" and outcome.ok and [f.test for f in outcome.failures] == ["t.py::test_a"]
    assert _read_probe(DEFECT, tmp_path / "none.jsonl", 2, 1.0).state == "harness-error"  # e.g. a collection error


def test_progress_is_in_the_tables_words_and_the_json_is_on_disk_after_every_run(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report = tmp_path / "mutation.json"
    seen: list[dict[str, Any]] = []

    def run_mutant(mutant: Mutant, settings: RunSettings, children: Children, on_start: Any, killers: Any) -> Outcome:
        on_start(mutant)
        seen.append(json.loads(report.read_text()) if report.exists() else {})  # what a SIGKILL would leave
        if mutant is UNBROKEN:
            return Outcome(mutant, "passed", 1.0, passed=2)
        if mutant is DEFECT:
            return Outcome(mutant, "failed", 1.0, [Failure("t.py::test_status", "assert 'progress' in {}")])
        return Outcome(mutant, "passed", 1.0, passed=2)

    monkeypatch.setattr(schedule, "run_mutant", run_mutant)
    said: list[str] = []
    result = schedule.run_plan([UNBROKEN, DEFECT, OTHER], RunSettings(paths=(".",)), 1, Children(), [],
                               progress=said.append, on_outcome=PartialJson(report, 0.0))
    assert [o.mutant for o in result.outcomes] == [UNBROKEN, DEFECT, OTHER]
    assert said == ["  unbroken: started", "  unbroken: green (1.0s)", "  no-progress: started",
                    "  no-progress: killed (1.0s)", "  anonymous-allowed: started", "  anonymous-allowed: SURVIVED (1.0s)"]
    assert seen[0] == {}
    assert [run["name"] for run in seen[1]["runs"]] == ["unbroken"] and seen[1]["in_progress"]
    assert [(run["name"], run["verdict"]) for run in seen[2]["runs"]] == [("unbroken", "green"),
                                                                         ("no-progress", "killed")]
    final = json.loads(report.read_text())
    assert len(final["runs"]) == 3 and final["in_progress"] and final["killed"] == 1


def test_each_worker_runs_a_lane_of_catalogue_neighbours_after_the_green_profiles() -> None:
    """A defect starts after its catalogue neighbour (same promise, same killer) has finished, not beside it."""
    plan = [UNBROKEN, SLOW, *(Mutant(f"d{i}", "", ("--break", f"d{i}"), False) for i in range(10))]
    lanes = schedule.lanes(plan, 4)
    assert sorted(i for lane in lanes for i in lane) == list(range(len(plan)))  # every run once
    assert [[plan[i].name for i in lane] for lane in lanes] == [
        ["unbroken", "d0", "d1", "d2"], ["slow-answers", "d3", "d4", "d5"], ["d6", "d7", "d8"], ["d9"]]
    assert [list(lane) for lane in schedule.lanes(plan, 1)] == [list(range(len(plan)))]  # one worker: plan order
    # a worker whose lane is empty takes the last run of the longest lane
    assert schedule._next_run(lanes[3], lanes) == 11 and schedule._next_run(lanes[3], lanes) == 4  # d9, then d2
    assert [schedule._next_run(lanes[3], lanes) for _ in range(20)].count(None) == 20 - 10


def test_a_lanes_own_killers_come_before_the_other_lanes() -> None:
    from pytest_cloudjob.mutation.runs import LaneKillers

    shared = Killers()
    mine, theirs = LaneKillers(Killers(), shared), LaneKillers(Killers(), shared)
    mine.record(Outcome(DEFECT, "failed", 1.0, [Failure("t.py::test_mine", "boom")]))
    theirs.record(Outcome(OTHER, "failed", 1.0, [Failure("t.py::test_theirs", "boom")]))
    assert mine.first() == ["t.py::test_mine", "t.py::test_theirs"]
    assert theirs.first() == ["t.py::test_theirs", "t.py::test_mine"]


def test_an_earlier_report_gives_each_defect_its_killers_and_no_transport_error_or_fault_run(tmp_path: Path) -> None:
    report = tmp_path / "mutation.json"
    report.write_text(json.dumps(to_json([
        Outcome(UNBROKEN, "failed", 1.0, [Failure("t.py::test_flaky", "boom")]),
        Outcome(DEFECT, "failed", 1.0, [Failure("t.py::test_blip", "no answer", TIMED_OUT),
                                        Failure("t.py::test_status", "assert 'progress' in {}")]),
        Outcome(OTHER, "passed", 1.0, passed=2)], 3.0)))
    assert killers_of_report(report) == {"no-progress": ("t.py::test_status",), "anonymous-allowed": ()}
    for text, says in (("{", "not a readable mutation --json report"), ('{"runs": [1]}', "run 1 has no 'name'")):
        report.write_text(text)
        with pytest.raises(ReportError, match=f"^{report}: {says}"):
            killers_of_report(report)
