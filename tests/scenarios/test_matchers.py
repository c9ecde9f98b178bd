"""Each matcher of ``expect:``: what passes, and the one line that explains what does not."""
from __future__ import annotations

import base64
import zlib

import pytest

from pytest_cloudjob.scenarios.matchers import MATCHERS, MatcherTypo, check

ZIPPED_COUNT = ":PCVL:zip:" + base64.b64encode(zlib.compress(b":PCVL:BSCount:{|1,0>=7}")).decode()

CASES = [
    # (actual, spec, passes, fragment of the failure)
    ("completed", "completed", True, ""),
    ("running", "completed", False, "expected 'completed', got 'running'"),
    ("waiting", {"one_of": ["waiting", "running"]}, True, ""),
    ("error", {"one_of": ["waiting", "running"]}, False, "expected one of"),
    ("qa_job_7", {"regex": r"^qa_job_\d+$"}, True, ""),
    ("other", {"regex": r"^qa_"}, False, "expected to match /^qa_/"),
    (3, {"type": "integer"}, True, ""),
    (True, {"type": "integer"}, False, "expected type integer"),
    (None, {"type": ["string", "null"]}, True, ""),
    ('{"a": 1}', {"type": "json-text"}, True, ""),
    ("{nope", {"type": "json-text"}, False, "expected type json-text"),
    (0.5, {"min": 0, "max": 1}, True, ""),
    (1.5, {"min": 0, "max": 1}, False, "at most 1"),
    ("x", {"min": 0}, False, "at least 0"),
    ([1, 2], {"contains": 2}, True, ""),
    ("hello world", {"contains": "world"}, True, ""),
    ({"k": 1}, {"not_contains": "k"}, False, "not to contain"),
    ([1, 2, 3], {"length": 3}, True, ""),
    ([1, 2, 3], {"length": {"max": 2}}, False, "length of v: expected a number at most 2, got 3"),
    (0.30000000000000004, {"approx": 0.3}, True, ""),
    (0.31, {"approx": 0.3, "tolerance": 0.001}, False, "expected 0.3 ± 0.001"),
    ({"a": 600, "b": 400}, {"sum": 1000}, True, ""),
    ({"a": 600, "b": 300}, {"sum": 1000}, False, "sum of v: expected 1000, got 900"),
    ('{"results": {"x": 5}}', {"json": {"results": {"sum": 5}}}, True, ""),
    ("nope", {"json": {}}, False, "expected a JSON text"),
    ([{"id": 1}, {"id": 2}], {"includes": [{"id": 2}], "excludes": [{"id": 3}]}, True, ""),
    ([{"id": 1}], {"includes": [{"id": 2}]}, False, "none of 1 does"),
    ([{"s": "a"}, {"s": "b"}], {"every": {"s": "a"}}, False, "v[1].s: expected 'a', got 'b'"),
    ({"status": "x"}, {"status": "x", "progress": {"min": 0}}, False, "v.progress: missing"),
    ({"type": "simulator", "name": "sim:qa"}, {"type": "simulator", "name": "sim:qa"}, True, ""),
    (1, True, False, "expected true, got 1"),
    ({"type": "qpu", "length": 3}, {"fields": {"type": "qpu", "length": 3}}, True, ""),
    ({"type": "sim"}, {"fields": {"type": "qpu"}}, False, "v.type: expected 'qpu', got 'sim'"),
    ({"a": 1}, {"exists": False}, False, "expected to be absent"),
    ([1, 2], {"equals": [1, 2]}, True, ""),
    ({"k": 1}, {"sum": {"approx": 1, "tolerance": 1e-9}}, True, ""),
    (":PCVL:BSCount:{|1,0>=493;|0,1>=507}", {"sum": 1000}, True, ""),
    (":PCVL:BSDistribution:{|1,0>=0.5;|0,1>=0.4999999999}", {"sum": {"approx": 1, "tolerance": 1e-9}}, True, ""),
    (":PCVL:BSCount:{|1,0>=493}", {"sum": 1000}, False, "sum of v: expected 1000, got 493"),
    # samples: Perceval's forms (a BSCount or BSSamples text, zipped or not, a mapping, a list), counted
    (":PCVL:BSCount:{|1,0>=493;|0,1>=507}", {"samples": {"min": 1, "max": 1000}}, True, ""),
    (":PCVL:BSCount:{|1,0>=494;|0,1>=507}", {"samples": {"max": 1000}}, False,
     "samples in v: expected a number at most 1000, got 1001"),
    (":PCVL:BSCount:{}", {"samples": {"min": 1}}, False, "samples in v: expected a number at least 1, got 0"),
    (ZIPPED_COUNT, {"samples": 7}, True, ""),
    (":PCVL:BSSamples:|1,0>;|0,1>/0;1;1", {"samples": 3}, True, ""),
    ({"|1,0>": 600, "|0,1>": 400}, {"samples": {"max": 1000}}, True, ""),
    (["|1,0>", "|0,1>"], {"samples": 2}, True, ""),
    (":PCVL:BSDistribution:{|1,0>=0.5;|0,1>=0.5}", {"samples": {"max": 1000}}, False, "expected sample counts"),
    ({"|1,0>": 0.5}, {"samples": {"max": 1000}}, False, "expected sample counts"),
    ("counts", {"samples": {"max": 1000}}, False, "expected Perceval's results"),
    (7, {"samples": 7}, False, "expected Perceval's results"),
    # differs_from: another job's results (a results JSON text's `results`; zipped forms unpacked)
    ('{"results": ":PCVL:BSSamples:|1,0>;|0,1>/0;1", "physical_perf": 1.0}',
     {"differs_from": '{"results": ":PCVL:BSSamples:|1,0>;|0,1>/1;0", "physical_perf": 1.0}'}, True, ""),
    ('{"results": ":PCVL:BSSamples:|1,0>;|0,1>/0;1", "physical_perf": 1.0}',
     {"differs_from": '{"physical_perf": 1.0, "results": ":PCVL:BSSamples:|1,0>;|0,1>/0;1"}'}, False,
     "expected results other than the saved ones, got the same"),
    (ZIPPED_COUNT, {"differs_from": ":PCVL:BSCount:{|1,0>=7}"}, False, "got the same"),
    ({"|1,0>": 3}, {"differs_from": {"|1,0>": 4}}, True, ""),
]
# The physics matchers have their own modules and tests (pytest_cloudjob.physics.distribution, tests/physics/;
# pytest_cloudjob.physics.datasheet, tests/physics/test_datasheet.py; acceptance, tests/physics/test_acceptance.py).
TESTED_ELSEWHERE = {"distribution", "datasheet", "acceptance"}


@pytest.mark.parametrize("actual,spec,passes,fragment", CASES)
def test_matcher(actual, spec, passes, fragment):
    problems = check(actual, spec, "v")
    assert (problems == []) is passes, problems
    if not passes:
        assert any(fragment in p for p in problems), problems


def test_every_matcher_of_the_table_has_cases():
    used = {key for _, spec, _, _ in CASES if isinstance(spec, dict) for key in spec if key in MATCHERS}
    assert set(MATCHERS) - TESTED_ELSEWHERE <= used, set(MATCHERS) - TESTED_ELSEWHERE - used


def test_a_misspelt_matcher_on_a_value_that_is_not_an_object_is_the_scenarios_mistake():
    with pytest.raises(MatcherTypo, match="unknown matcher 'one_off' \\(did you mean 'one_of'\\?\\)"):
        check({"status": "waiting"}, {"status": {"one_off": ["waiting"]}}, "v")
    # a real object is checked field by field, whatever the field names
    assert check({"status": {"one_off": 1}}, {"status": {"one_off": 1}}, "v") == []
    # under fields:, a wrong answer is the cloud's defect
    assert check({"body": "text"}, {"body": {"fields": {"types": [1]}}}, "v") == ["v.body: expected an object, got 'text'"]
