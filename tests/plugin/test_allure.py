"""Allure reporting through real sessions: every result with its title, parameters, labels, steps and
attachments, the run's environment and categories, under -n 2, and no token in any file or output."""
from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from pytest_cloudjob.reporting.allure_report import CATEGORIES
from pytest_cloudjob.run.settings import SETTINGS, TOKEN_ENV
from pytest_cloudjob.server.process import start_reference_cloud

SHIPPED = Path(__file__).parents[2] / "scenarios"
TOKENS = {"user": "tok-user-7f3a9c51e2", "other": "tok-other-0b8d44a7c6", "admin": "tok-admin-93e1c0ffee"}

PYTHON_TESTS = """
import logging
from pytest_cloudjob import Job

def test_python_lifecycle(cloud_context, cloud_user, cloud_job_factory, cloud_platform):
    job = cloud_job_factory.create()
    job.wait_until(cloud_context, cloud_user, "completed", timeout=30)
    assert job.get_results(cloud_context, cloud_user)["results"]

def test_python_that_leaks_its_token_everywhere(cloud_context, cloud_user):
    token = cloud_user.get_token()
    print("stdout has", token)
    logging.getLogger("qa").warning("log has %s and Bearer %s", token, token)
    assert token == "something else", f"the message has {token}"

class HarnessError(RuntimeError):
    '''Stands for pytest_cloudjob's own: the categories key on the class name.'''

def test_python_with_a_harness_mistake(cloud_context, cloud_user):
    raise HarnessError("step 2 at line 7: 'jobb' names no saved value (the call answered -> HTTP 404)")
"""

FAILING_SCENARIO = """
name: a scenario that fails on purpose
steps:
  - create: {save: job}
  - status: {job: job, expect: {status: no-such-status}}
"""
BAD_SCENARIO = """
name: a bad one
steps:
  - cancle: {job: job}
"""


@dataclass
class AllureRun:
    result: pytest.RunResult
    folder: Path  # where the run ran: its junit.xml, and allure-results/
    by_name: dict[str, dict]
    results: list[dict]

    @property
    def results_dir(self) -> Path:
        return self.folder / "allure-results"


@pytest.fixture(scope="module")
def allure_run(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> AllureRun:
    """One real run, shared by this module's tests (they read it, never change it): the shipped suite, a
    failing scenario, a bad file and Python tests, under -n 2, against a cloud given by URL and tokens.

    Made once per pytest run, not once per xdist worker: the first worker to get here makes it under a lock
    in the run's shared temporary folder and keeps its outcome there; the others read it (pytest-xdist's
    recipe for a fixture that must run once)."""
    shared = tmp_path_factory.getbasetemp() if worker_id == "master" else tmp_path_factory.getbasetemp().parent
    folder = shared / "allure-run"
    kept = shared / "allure-run.json"
    with open(shared / "allure-run.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, or when its process dies
        if not kept.exists():
            kept.write_text(json.dumps(_run_allure_suite(folder)))
    outcome = json.loads(kept.read_text())
    result = pytest.RunResult(outcome["ret"], outcome["stdout"].splitlines(), outcome["stderr"].splitlines(),
                              outcome["duration"])
    results = [json.loads(p.read_text()) for p in (folder / "allure-results").glob("*-result.json")]
    return AllureRun(result, folder, {r["name"]: r for r in results}, results)


def _run_allure_suite(folder: Path) -> dict:
    folder.mkdir()
    cloud = start_reference_cloud(folder / "cloud.log", [f"--{name}-token={token}" for name, token in TOKENS.items()])
    for path in SHIPPED.glob("*.scenario.yaml"):
        shutil.copy(path, folder / path.name)
    (folder / "failing.scenario.yaml").write_text(FAILING_SCENARIO)
    (folder / "bad.scenario.yaml").write_text(BAD_SCENARIO)
    (folder / "test_python.py").write_text(PYTHON_TESTS)
    developer = {s.env for s in SETTINGS.values()} | set(TOKEN_ENV.values())  # no setting of the shell reaches it
    env = {name: value for name, value in os.environ.items() if name not in developer}  # PYTEST_ADDOPTS: conftest
    env |= {"CLOUDJOB_URL": cloud.url, "CLOUDJOB_TOKEN": TOKENS["user"], "CLOUDJOB_OTHER_TOKEN": TOKENS["other"],
            "CLOUDJOB_ADMIN_TOKEN": TOKENS["admin"]}
    started = time.monotonic()
    try:
        done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-n", "2", "--alluredir",
                               "allure-results", "--junitxml", "junit.xml", "-o", "log_level=INFO",
                               "-o", "junit_logging=all", "-rA"], cwd=folder, env=env, capture_output=True,
                              text=True, timeout=600)  # a hang guard, not a target
    finally:
        assert cloud.stop() == 0
    return {"ret": done.returncode, "stdout": done.stdout, "stderr": done.stderr,
            "duration": time.monotonic() - started}


def labels(result: dict) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for label in result["labels"]:
        out.setdefault(label["name"], []).append(label["value"])
    return out


def all_steps(steps: list[dict]) -> list[dict]:
    return [s for step in steps for s in [step, *all_steps(step.get("steps", []))]]


def test_every_result_has_title_parameters_labels_steps_and_attachments(allure_run):
    result, results_dir, by_name, results = allure_run.result, allure_run.results_dir, allure_run.by_name, allure_run.results
    outcomes = result.parseoutcomes()
    assert outcomes["passed"] == 27 and outcomes["failed"] == 3, result.stdout.str()  # 18 protocol + 9 physics
    assert len(results) == 27 + 3 + 1 + 1  # every test, plus the bad file as a result, plus the skipped one
    # a datasheet check attaches its estimate, its interval, the advertised value and the margin
    g2 = next(r for r in results if r["name"].startswith("datasheet: the g2"))
    attached = next(a for s in all_steps(g2["steps"]) for a in s.get("attachments", []) if a["name"] == "datasheet: g2")
    text = (results_dir / attached["source"]).read_text()
    assert "g2 estimated" in text and "interval" in text and "advertised" in text and "margin 0.01" in text, text

    for each in results:
        if each["name"].startswith("bad scenario file") or each["status"] == "skipped":
            continue
        assert {"epic", "feature", "story", "severity"} <= set(labels(each)), each["name"]
        if "leaks_its_token" in each["name"] or "harness_mistake" in each["name"]:  # fixtures, no call: no platform
            continue
        assert "platform" in {p["name"] for p in each.get("parameters", [])}, each["name"]
        assert each.get("steps"), f"{each['name']} has no steps"
        assert any(a for s in all_steps(each["steps"]) for a in s.get("attachments", [])), each["name"]

    lifecycle = by_name["a sample_count job completes with well-formed status and results [sim:qa]"]  # and platform
    assert lifecycle["status"] == "passed"
    assert {p["name"]: p["value"] for p in lifecycle["parameters"]}["platform"] == "'sim:qa'"
    host = next(p for p in lifecycle["parameters"] if p["name"] == "host")
    assert host["excluded"] is True  # shown, but kept out of the history id
    tags = labels(lifecycle)
    assert tags["epic"] == [re.sub(r"^http://", "", host["value"].strip("'"))]
    assert tags["feature"] == ["lifecycle.scenario.yaml"] and tags["severity"] == ["critical"]
    assert tags["story"] == ["a sample_count job completes with well-formed status and results"]
    assert {"smoke", "lifecycle"} <= set(tags["tag"])

    steps = lifecycle["steps"]
    assert [s["name"].split(":")[0] for s in steps[:5]] == [f"step {i}" for i in range(1, 6)]
    wait = next(s for s in all_steps(steps) if s["name"].startswith("wait for job"))
    names = [a["name"] for a in wait["attachments"]]
    assert any(n.startswith("status history of job") for n in names) and "polls" in names
    assert not wait.get("steps"), "a wait's polls are summarised, not one step each"
    polls = (results_dir / next(a["source"] for a in wait["attachments"] if a["name"] == "polls")).read_text()
    assert re.search(r"^\d+ call\(s\) in [0-9.]+ s$", polls, re.M) and "completed" in polls
    create = next(s for s in all_steps(steps) if s["name"].startswith("create job"))
    call = create["attachments"][0]
    assert call["name"].startswith("POST /api/job -> 200") and call["type"] == "application/json"
    body = json.loads((results_dir / call["source"]).read_text())
    assert body["method"] == "POST" and body["status"] == 200 and body["response_body"]["job_id"]
    assert body["request_body"]["payload"]["command"] == "sample_count" and body["elapsed_ms"] >= 0

    python = by_name["test_python_lifecycle[sim:qa]"]
    assert python["status"] == "passed"
    assert labels(python)["feature"] == ["test_python.py"] and labels(python)["story"] == ["test_python_lifecycle"]
    job_steps = [s["name"] for s in all_steps(python["steps"])]
    assert any(n.startswith("create job 'qa_job' on sim:qa") for n in job_steps)
    assert any(n.startswith("results of job") for n in job_steps)


def test_failures_fall_into_categories_and_the_run_is_described(allure_run):
    results_dir, by_name, results = allure_run.results_dir, allure_run.by_name, allure_run.results
    categories = json.loads((results_dir / "categories.json").read_text())
    assert [c["name"] for c in categories] == [c["name"] for c in CATEGORIES]

    def category_of(result: dict) -> str:
        message = result.get("statusDetails", {}).get("message", "")
        return next(c["name"] for c in categories if result["status"] in c["matchedStatuses"]
                    and re.fullmatch(c.get("messageRegex", "(?s).*"), message))

    failing = by_name["a scenario that fails on purpose [sim:qa]"]
    assert failing["status"] == "failed" and category_of(failing) == "Cloud defects"
    mistake = by_name["test_python_with_a_harness_mistake"]
    assert mistake["status"] == "broken" and "-> HTTP 404" in mistake["statusDetails"]["message"]
    assert category_of(mistake) == "Harness errors", "a harness mistake is never a cloud defect"
    bad = next(r for r in results if r["name"].startswith("bad scenario file"))
    assert bad["status"] == "broken" and category_of(bad) == "Bad scenarios"
    assert "unknown step 'cancle'" in bad["statusDetails"]["message"]
    environment = dict(line.split("=", 1) for line in
                       (results_dir / "environment.properties").read_text().splitlines())
    assert {"target", "platforms", "pytest-cloudjob.version", "pcvl.version", "run.id"} <= set(environment)
    assert environment["platforms"] == "sim:qa" and environment["run.id"].startswith("run-")


def test_no_token_in_any_file_or_in_the_output(allure_run):
    result, results_dir = allure_run.result, allure_run.results_dir
    files = [*results_dir.iterdir(), allure_run.folder / "junit.xml"]
    assert len(files) > 50
    texts = {str(p): p.read_text(errors="replace") for p in files} | {
        "stdout": result.stdout.str(), "stderr": result.stderr.str()}
    for where, text in texts.items():
        for token in TOKENS.values():
            assert token not in text, f"a token in {where}"
    junit = (allure_run.folder / "junit.xml").read_text()
    assert "the message has ***" in junit and "log has *** and Bearer ***" in junit and "stdout has ***" in junit


def test_allure_3_gets_the_same_categories_from_its_own_config(allure_run):
    """Allure 3 ignores categories.json: it reads ``categories`` from an allurerc file, here ``allurerc.json``
    in the results folder (``npx allure@3 generate --config allure-results/allurerc.json allure-results``).
    Its regular expressions are JavaScript's, tried with ``RegExp.test``: node files each failure as Python does."""
    results_dir, results = allure_run.results_dir, allure_run.results
    config = json.loads((results_dir / "allurerc.json").read_text())
    rules = config["categories"]["rules"]
    assert [r["name"] for r in rules] == [c["name"] for c in CATEGORIES]
    assert all(r["matchedStatuses"] and "matchers" not in r for r in rules)  # Allure 3's compatibility keys
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the JavaScript side of the categories is not checked")
    failures = [{"status": r["status"], "message": r.get("statusDetails", {}).get("message", "")}
                for r in results if r["status"] in ("failed", "broken")]
    script = """
    const [rules, failures] = JSON.parse(require("fs").readFileSync(0, "utf8"));
    console.log(JSON.stringify(failures.map(f => (rules.find(r => r.matchedStatuses.includes(f.status)
      && (r.messageRegex === undefined || new RegExp(r.messageRegex).test(f.message))) || {}).name)));
    """
    answer = subprocess.run([node, "-e", script], input=json.dumps([rules, failures]), capture_output=True,
                            text=True, timeout=30, check=True)
    in_javascript = json.loads(answer.stdout)
    in_python = [next(c["name"] for c in CATEGORIES if f["status"] in c["matchedStatuses"]
                      and re.fullmatch(c.get("messageRegex", "(?s).*"), f["message"])) for f in failures]
    assert len(failures) == 4 and in_javascript == in_python
    assert {"Cloud defects", "Harness errors", "Bad scenarios"} <= set(in_python)
