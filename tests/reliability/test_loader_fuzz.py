"""The scenario loader under hostile and broken files: every one is a ``file:line`` error, quickly.

The files come from ``malformed_generator.py`` (seeded): alias bombs, deep nesting, huge numbers, wrong
types, bad Unicode, truncated YAML, tabs, duplicate and unknown keys, bad tags. They go through what
collection does (``load_documents``, then ``parse_scenario`` for each document). A hang is the failure
we look for, so each file has a generous bound of 1 s.
"""
from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from _support import hang_guard
from malformed_generator import BASE, Case, generate, write

from pytest_cloudjob.scenarios.loader import MAX_DEPTH, MAX_NODES, ScenarioFormatError, load_documents
from pytest_cloudjob.scenarios.model import parse_scenario

# Bounds on the CPU time one file costs (process time, not wall time: a busy machine slows the wall clock,
# not the work); a load still running after HANG_SECONDS of wall time is interrupted as a hang.
PER_FILE_SECONDS = 1.0
PURE_PYTHON_SECONDS = 3.0  # PyYAML's Python parser is 15 times slower: 20,000 values take 0.7 s there
HANG_SECONDS = 30.0
# Values the format's checks (model.py) hash without checking their type first: a TypeError today.


def load_and_parse(path: Path, pure_python: bool = False) -> None:
    """What collecting a scenario file does before any item exists."""
    for index, document in enumerate(load_documents(path, pure_python=pure_python)):
        parse_scenario(document, path, index)


def outcome(path: Path, pure_python: bool = False) -> tuple[BaseException | None, float]:
    start = time.process_time()
    try:
        with hang_guard(HANG_SECONDS):
            load_and_parse(path, pure_python)
    except Exception as exc:  # what else than a format error comes out is what this test looks for
        return exc, time.process_time() - start
    return None, time.process_time() - start


def check_refusal(path: Path, case: Case, error: BaseException | None, exact_line: bool = True) -> str | None:
    """Why ``error`` is not the clear refusal ``case`` needs, or None if it is."""
    if not isinstance(error, ScenarioFormatError):
        return f"{type(error).__name__}: {error}" if error else "loaded as a valid scenario"
    match = re.match(re.escape(str(path)) + r":(\d+): \S", str(error))
    if not match:
        return f"no 'file:line: ' at the start of {str(error)[:200]!r}"
    if exact_line and case.line is not None and int(match.group(1)) != case.line:
        return f"names line {match.group(1)}, the mistake is on line {case.line}: {error}"
    if case.expect and not re.search(case.expect, error.message):
        return f"does not say /{case.expect}/: {error}"
    return None


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[Path, Case]:
    base = tmp_path_factory.mktemp("base") / "base.scenario.yaml"
    base.write_text(BASE)
    load_and_parse(base)  # every case breaks one thing in a valid scenario
    return write(generate(), tmp_path_factory.mktemp("malformed"))


def test_at_least_300_malformed_files_each_a_file_line_error_in_under_a_second(corpus):
    problems, refused, accidentally_valid, slowest = [], 0, 0, (0.0, "")
    for path, case in corpus.items():
        error, seconds = outcome(path)
        slowest = max(slowest, (seconds, path.name))
        if seconds > PER_FILE_SECONDS:
            problems.append(f"{path.name}: took {seconds:.2f} s")
            if sum("took" in problem for problem in problems) >= 3:
                break  # a regression: three hangs say enough
        if error is None and not case.must_fail:
            accidentally_valid += 1
            continue
        why = check_refusal(path, case, error)
        if why:
            problems.append(f"{path.name} ({case.family}): {why}")
        else:
            refused += 1
    assert not problems, "\n".join(problems)
    assert refused >= 300, f"only {refused} malformed files ({accidentally_valid} truncations were valid scenarios)"
    assert slowest[0] < PER_FILE_SECONDS


def test_the_pure_python_parser_refuses_them_too(corpus):
    """Where libyaml is missing PyYAML parses in Python: one file of each family, plus every bomb."""
    seen: set[str] = set()
    problems = []
    for path, case in corpus.items():
        bomb = case.family in ("billion-laughs alias bomb", "deep nesting")
        if (case.family in seen and not bomb) or not case.must_fail:
            continue
        seen.add(case.family)
        error, seconds = outcome(path, pure_python=True)
        why = check_refusal(path, case, error, exact_line=False)
        if why or seconds > PURE_PYTHON_SECONDS:
            problems.append(f"{path.name} ({case.family}, {seconds:.2f} s): {why}")
    assert not problems, "\n".join(problems)
    assert len(seen) >= 12


def test_unhashable_names_in_a_step_are_format_errors(corpus):
    unhashable = [(path, case) for path, case in corpus.items() if case.family == "unhashable matcher argument"]
    assert unhashable
    for path, case in unhashable:
        error, _ = outcome(path)
        assert check_refusal(path, case, error) is None


DOUBLING = "".join(f'  v{i}: "{{vars.v{i + 1}}}{{vars.v{i + 1}}}"\n' for i in range(40)) + '  v40: "lol"\n'
VARIABLE_BOMBS = {
    "itself": 'name: loop\nvars:\n  a: "{vars.a}"\nsteps:\n  - create: {payload: {n: "{vars.a}"}}\n',
    "a cycle": 'name: loop\nvars:\n  a: "{vars.b}"\n  b: "{vars.a}"\nsteps:\n  - create: {payload: {n: "{vars.a}"}}\n',
    "doubling": f'name: laughs\nvars:\n{DOUBLING}steps:\n  - create: {{payload: {{n: "{{vars.v0}}"}}}}\n',
}


@pytest.mark.parametrize("bomb", sorted(VARIABLE_BOMBS))
def test_a_variable_that_refers_to_itself_or_doubles_is_a_format_error(tmp_path, bomb):
    path = tmp_path / "variables.scenario.yaml"
    path.write_text(VARIABLE_BOMBS[bomb])
    with pytest.raises(ScenarioFormatError, match=r"variables\.scenario\.yaml:3: "):
        load_and_parse(path)


# -- what the bounds must not refuse -----------------------------------------------------------------------


@pytest.mark.parametrize("pure_python", [False, True], ids=["libyaml", "python"])
def test_merge_keys_work_and_each_key_keeps_the_line_it_is_written_on(tmp_path, pure_python):
    path = tmp_path / "merge.scenario.yaml"
    path.write_text("""\
name: merged
vars:
  defaults: &wait
    until: completed
    timeout: 30s
steps:
  - create: {save: job}
  - wait:
      <<: *wait
      job: job
      timeout: 60s
  - wait: {<<: [*wait], job: jbo}
""")
    (document,) = load_documents(path, pure_python=pure_python)
    wait = document["steps"][1]["wait"]
    assert dict(wait) == {"until": "completed", "timeout": "60s", "job": "job"}  # the key written here wins
    assert wait.key_lines == {"until": 4, "timeout": 11, "job": 10}
    with pytest.raises(ScenarioFormatError, match=r"merge\.scenario\.yaml:12: .*job 'jbo' was never saved"):
        parse_scenario(document, path, 0)


@pytest.mark.parametrize("pure_python", [False, True], ids=["libyaml", "python"])
def test_numbers_are_read_as_yaml_1_2_writes_them(tmp_path, pure_python):
    path = tmp_path / "numbers.yaml"
    path.write_text("a: 1e-6\nb: 1E+3\nc: .5\nd: -2.5e-3\ne: 12\nf: 0x1f\ng: 1:20\nh: 2024-01-01\ni: .inf\nj: '1e-6'\n")
    (values,) = load_documents(path, pure_python=pure_python)
    assert values == {"a": 1e-6, "b": 1000.0, "c": 0.5, "d": -2.5e-3, "e": 12, "f": 31, "g": "1:20", "h": "2024-01-01",
                      "i": float("inf"), "j": "1e-6"}
    assert type(values["a"]) is float and type(values["e"]) is int


def test_a_documented_tolerance_in_exponent_form_loads_as_a_number(tmp_path):
    path = tmp_path / "tolerance.scenario.yaml"
    path.write_text("name: t\nsteps:\n  - create: {save: job}\n  - status:\n      job: job\n"
                    "      expect: {progress: {approx: 1.0, tolerance: 1e-6}}\n")
    (document,) = load_documents(path)
    scenario = parse_scenario(document, path, 0)
    assert scenario.steps[1].args["expect"]["progress"]["tolerance"] == pytest.approx(1e-6)


@pytest.mark.parametrize("pure_python", [False, True], ids=["libyaml", "python"])
def test_values_up_to_the_limits_load_and_one_more_is_refused(tmp_path, pure_python):
    """Nesting at the limit, an alias reused up to the limit: a large but honest scenario is not a bomb."""
    path = tmp_path / "large.scenario.yaml"
    nested = "[" * (MAX_DEPTH - 5) + "1" + "]" * (MAX_DEPTH - 5)  # in a mapping, list, mapping, mapping, mapping
    rows = MAX_NODES // 101 - 5  # each use of *row is the list and its 100 values

    def write(rows: int, nested: str) -> None:
        path.write_text(f"name: large\nvars:\n  row: &row [{', '.join(['1'] * 100)}]\n"
                        f"  table: [{', '.join(['*row'] * rows)}]\n"
                        f"steps:\n  - create: {{save: job, payload: {{deep: {nested}}}}}\n")

    write(rows, nested)
    (document,) = load_documents(path, pure_python=pure_python)
    assert len(document["vars"]["table"]) == rows
    parse_scenario(document, path, 0)
    write(rows, f"[{nested}]")
    with pytest.raises(ScenarioFormatError, match=f"large.scenario.yaml:6: nested deeper than {MAX_DEPTH} levels"):
        load_documents(path, pure_python=pure_python)
    write(rows + 10, nested)
    with pytest.raises(ScenarioFormatError, match=f"large.scenario.yaml:4: more than {MAX_NODES} values once aliases"):
        load_documents(path, pure_python=pure_python)


def test_bad_files_are_collection_errors_with_their_line_and_the_good_one_still_runs(pytester, corpus):
    families = ["billion-laughs alias bomb", "recursive alias", "deep nesting", "huge number", "invalid UTF-8",
                "control character", "tab in indentation", "duplicate key", "unknown step", "unsupported or wrong YAML tag",
                "truncated YAML", "wrong type or value", "file over the size limit"]
    first: dict[str, tuple[Path, Case]] = {}
    for path, case in corpus.items():
        first.setdefault(case.family, (path, case))
    wanted = [first[family][1].name for family in families]
    expected = {}
    for family in families:
        path, case = first[family]
        name = case.name
        copy = pytester.path / path.name
        copy.write_bytes(case.data)
        error, _ = outcome(copy)
        assert isinstance(error, ScenarioFormatError), (name, error)
        expected[name] = f"{path.name}:{error.line}: {error.message[:40]}"
    # The good file also runs what the loader now reads right: a merge key, and a tolerance written 1e-6.
    pytester.makefile(".scenario.yaml", good="""\
name: still runs
vars:
  until_completed: &completed {until: completed, timeout: 30s}
steps:
  - create: {save: job}
  - wait: {<<: *completed, job: job}
  - status:
      job: job
      expect: {status: completed, progress: {approx: 1.0, tolerance: 1e-6}}
""")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    output = result.stdout.str() + result.stderr.str()
    for name, message in expected.items():
        assert message in output, f"{name}: no '{message}' in the output:\n{output[-3000:]}"
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed") == 1 and outcomes.get("errors", outcomes.get("error")) == len(wanted), output[-3000:]
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert "INTERNALERROR" not in output and "Traceback" not in output
