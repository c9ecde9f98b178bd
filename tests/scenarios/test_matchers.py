"""Each matcher of ``expect:``: what passes, and the one line that explains what does not."""
from __future__ import annotations

import pytest

from pytest_cloudjob.scenarios.matchers import MATCHERS, MatcherTypo, check

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
]
# The physics matcher has its own module and tests (pytest_cloudjob.physics.distribution).
TESTED_ELSEWHERE = {"distribution"}


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
