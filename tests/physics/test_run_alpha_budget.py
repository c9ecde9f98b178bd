"""--cloud-alpha: one false-alarm budget for the run, shared by its statistical checks (docs/physics.md)."""
from __future__ import annotations

import textwrap

import pytest
from physics_jobs import hom, v1

pytestmark = pytest.mark.usefixtures("clean_environment")


def scenario(name: str, reference: str, extra: str = "") -> str:
    """A HOM job on the ideal platform, its counts checked against an inline ``reference``."""
    experiment = v1(hom, shots=2000)["experiment"]
    return textwrap.dedent(f"""\
        name: {name}
        steps:
          - create:
              payload: {{command: sample_count, max_shots: 2000, experiment: "{experiment}"}}
              save: job
          - wait: {{job: job, until: completed, timeout: 60s}}
          - results:
              job: job
              expect:
                results: {{distribution: {{reference: {reference}{extra}}}}}
        """)


HONEST = '{"|2,0>": 0.5, "|0,2>": 0.5}'
WRONG = '{"|2,0>": 0.9, "|0,2>": 0.1}'


def test_the_summary_counts_the_checks_tests_each_at_alpha_over_m_and_states_holm_s_verdict(pytester, against):
    pytester.makefile(".scenario.yaml", hom=scenario("one", HONEST) + "---\n" + scenario("two", HONEST))
    result = pytester.runpytest("-p", "no:cacheprovider", "--cloud-alpha", "0.01")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    result.stdout.fnmatch_lines(["statistical checks: 2 counted at collection, 2 with a p-value; run budget "
                                 "alpha=0.01 (--cloud-alpha), each tested at alpha/m=0.005 (Bonferroni; *"
                                 "Holm's step-down over the p-values: 0 rejected"])


def test_a_red_check_says_the_level_it_was_tested_at_and_the_run_level_verdict_counts_it(pytester, against):
    pytester.makefile(".scenario.yaml", hom=scenario("honest", HONEST) + "---\n" + scenario("wrong", WRONG)
                      + "---\n" + scenario("strict", HONEST, ", alpha: 1.0e-9"))
    result = pytester.runpytest("-p", "no:cacheprovider", "--cloud-alpha", "0.03")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines([
        "*distribution does NOT match the reference at alpha=0.01 (the run's --cloud-alpha 0.03 over its 3 "
        "statistical checks, Bonferroni) over * shots*",
        "statistical checks: FAILED, 3 counted at collection, 3 with a p-value; run budget alpha=0.03 *1 rejected:",
        "  hom.scenario.yaml::wrong[[]sim:qa[]] (*hom.scenario.yaml:18 expect): p-value 0",
    ])


def test_without_the_setting_each_check_keeps_its_own_alpha_and_the_summary_sums_them(pytester, against):
    pytester.makefile(".scenario.yaml", hom=scenario("one", HONEST, ", alpha: 1.0e-3") + "---\n"
                      + scenario("two", HONEST))
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    result.stdout.fnmatch_lines(["statistical checks: 2 counted at collection, 2 with a p-value; each at its own "
                                 "alpha (no --cloud-alpha): the run's false-alarm probability is at most their sum "
                                 "0.001 (union bound); 0 rejected"])


PRINT_LEVEL = """
    def test_level(cloud_run):
        print("BUDGET", cloud_run.budget.alpha, cloud_run.budget.planned)
"""


def test_the_setting_has_three_spellings_option_over_environment_over_ini(pytester, against, monkeypatch):
    pytester.makepyfile(PRINT_LEVEL)
    pytester.makeini("[pytest]\ncloud_alpha = 0.02\n")
    pytester.runpytest("-s").stdout.fnmatch_lines(["*BUDGET 0.02 0*"])
    monkeypatch.setenv("CLOUDJOB_ALPHA", "1e-3")
    pytester.runpytest("-s").stdout.fnmatch_lines(["*BUDGET 0.001 0*"])
    pytester.runpytest("-s", "--cloud-alpha", "0.05").stdout.fnmatch_lines(["*BUDGET 0.05 0*"])


@pytest.mark.parametrize(("spelling", "value"), [("--cloud-alpha", "often"), ("--cloud-alpha", "0"),
                                                 ("--cloud-alpha", "1"), ("CLOUDJOB_ALPHA", "nan")])
def test_a_bad_budget_stops_the_run_with_one_line_naming_the_setting(pytester, monkeypatch, spelling, value):
    pytester.makepyfile(PRINT_LEVEL)
    args = [spelling, value] if spelling.startswith("--") else []
    if not args:
        monkeypatch.setenv(spelling, value)
    result = pytester.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: {spelling}: the run's false-alarm budget must be a number strictly between "
                                 f"0 and 1 (e.g. 1e-4), got '{value}' (--cloud-alpha / CLOUDJOB_ALPHA / cloud_alpha)"])
    assert "Traceback" not in result.stderr.str()
