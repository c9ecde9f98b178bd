"""Which scenarios a load run runs and how often: the same files and marks as pytest, weights by mark or
name, and one clear line for each mistake. (No Locust here: these modules do not import it.)"""
from __future__ import annotations

from pathlib import Path

import pytest

from pytest_cloudjob.api.records import CallRecord
from pytest_cloudjob.load.mix import MixError, build_mix, parse_weights
from pytest_cloudjob.load.tally import Tally

SHIPPED = str(Path(__file__).parents[2] / "scenarios")


def test_smoke_on_two_platforms_is_the_three_smoke_scenarios_on_each() -> None:
    choices, left_out = build_mix([SHIPPED], "smoke", ["sim:qa", "qpu:qa"], {})
    assert len(choices) == 6 and {c.platform for c in choices} == {"sim:qa", "qpu:qa"}
    assert all("smoke" in c.scenario.marks and c.weight == 1 for c in choices) and not left_out


def test_a_weight_by_mark_or_name_and_zero_leaves_a_scenario_out(tmp_path: Path) -> None:
    weights_file = tmp_path / "weights.yaml"
    weights_file.write_text("platform: 0\nsmoke: 2\n")
    weights = parse_weights(["the record read back matches what was sent=5"], str(weights_file))
    choices, _ = build_mix([SHIPPED], "smoke or lifecycle", ["sim:qa"], weights)
    by_name = {c.scenario.name: c.weight for c in choices}
    assert by_name["the record read back matches what was sent"] == 5
    assert by_name["a sample_count job completes with well-formed status and results"] == 2
    assert "platform details are served on the new and the legacy path" not in by_name


def test_a_scenario_restricted_to_an_unconfigured_platform_is_left_out_with_the_reason() -> None:
    _, left_out = build_mix([SHIPPED], "cancel", ["sim:qa"], {})
    assert any("a job can be cancelled while it waits: restricted to qpu:qa" in reason for reason in left_out)


@pytest.mark.parametrize(("call", "message"), [
    (lambda: build_mix([SHIPPED], "no_such_mark", ["sim:qa"], {}), "no scenario to run"),
    (lambda: build_mix([SHIPPED], "smoke", ["sim:qa"], {"smok": 2.0}), "weight for 'smok', which is neither"),
    (lambda: build_mix(["nowhere"], "", ["sim:qa"], {}), "nowhere: no such scenario file or folder"),
    (lambda: build_mix([SHIPPED], "smoke and (", ["sim:qa"], {}), "-m 'smoke and ('"),
    (lambda: parse_weights(["smoke=-1"], None), "a weight is a number >= 0"),
    (lambda: parse_weights(["smoke"], None), "expected MARK=N"),
])
def test_each_mistake_is_one_line_naming_it(call, message: str) -> None:
    with pytest.raises(MixError, match=None) as info:
        call()
    assert message in str(info.value) and "\n" not in str(info.value)


def test_the_tally_counts_jobs_per_platform_and_adds_up_what_workers_send() -> None:
    worker, master = Tally(), Tally()
    created = CallRecord("POST", "u", 200, 0.01, {"platform_name": "sim:slow"}, '{"job_id": "j1"}', endpoint="job_create")
    ended = CallRecord("GET", "u", 200, 0.01, None, '{"status": "canceled"}', endpoint="job_status",
                       path_params={"job_id": "j1"})
    cancelled = CallRecord("POST", "u", 200, 0.01, None, '{}', endpoint="job_cancel", path_params={"job_id": "j1"})
    for record in (created, ended, ended, cancelled):
        worker.on_call(record, "sim:qa")
    worker.runs["passed"] += 1
    master.merge(worker.take())
    master.merge(worker.take())  # a take hands over only what is new
    assert master.jobs["sim:slow"]["created"] == 1 and master.jobs["sim:slow"]["canceled"] == 1
    assert master.runs["passed"] == 1 and master.total("created") == 1
