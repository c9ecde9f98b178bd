"""The shipped scenarios as a Locust load: green against the reference cloud, red with the scenario's
``file:line`` against a broken one, the two load-only defects caught under load and missed by a plain run,
and a distributed run (one master, two workers on loopback) whose workers' requests add up at the master."""
from __future__ import annotations

import importlib.util
import json
import re
import subprocess
from pathlib import Path

import pytest
from load_support import SHIPPED, aggregated, env_for, free_port, load_command, rows, run

from pytest_cloudjob.server.process import start_reference_cloud

# Looked up, never imported here: importing Locust monkey-patches this pytest process with gevent.
pytestmark = pytest.mark.skipif(importlib.util.find_spec("locust") is None,
                                reason="the load tests need Locust: pip install 'pytest-cloudjob[load]'")

#: At least this many requests in 5 s with 5 users (about 2300 on a quiet 2-core machine, docs/load.md):
#: a hundred or so, not thousands, so a busy CI machine stays green.
MIN_REQUESTS = 150


def headless(users: int) -> tuple[str, ...]:
    return ("--headless", "--users", str(users), "--spawn-rate", str(users), "--only-summary")


HEADLESS = headless(20)
#: The smoke load's users: its rate is bound by the CPU, not by the users (5 users made 2300 requests in 5 s, 20 users
#: 4800 in 10 s), and the load-only defects, which need 20 users at once, have tests of their own below.
SMOKE = headless(5)


@pytest.mark.heavy(seconds=30)
def test_the_smoke_scenarios_as_a_5s_load_are_green_with_csv_html_and_an_allure_result(tmp_path: Path) -> None:
    csv_prefix, html, allure = tmp_path / "smoke", tmp_path / "smoke.html", tmp_path / "allure"
    result = run(load_command("-m", "smoke", *SMOKE, "--run-time", "5s", "--csv", str(csv_prefix),
                              "--html", str(html), "--alluredir", str(allure)), env_for(), tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    total = aggregated(csv_prefix)
    assert int(total["Request Count"]) >= MIN_REQUESTS, total
    assert total["Failure Count"] == "0", output[-3000:]
    names = {(row["Type"], row["Name"]) for row in rows(Path(f"{csv_prefix}_stats.csv"))}
    assert {("sim:qa", "create"), ("sim:qa", "status"), ("sim:qa", "results")} <= names
    assert "ok   no job left active (leak sweep): 0 leaked" in output and "load run passed" in output
    (result_file,) = allure.glob("*-result.json")
    data = json.loads(result_file.read_text())
    assert data["status"] == "passed" and data["labels"][0] == {"name": "suite", "value": "load"}
    attached = {a["name"]: allure / a["source"] for a in data["attachments"]}
    assert "<html" in attached["Locust report"].read_text()[:2000].lower()
    assert "sim:qa       status" in attached["load run summary"].read_text()


@pytest.mark.heavy(seconds=7)
def test_a_broken_promise_is_red_with_the_scenarios_file_line_in_the_failure_statistics(tmp_path: Path) -> None:
    # cancel-noop too: the security scenario's sim:slow jobs (10 minutes each) are left running by its clean-up
    prefix = tmp_path / "broken"
    result = run(load_command("-m", "smoke", "--cloud-arg=--break=wrong-shot-count", "--cloud-arg=--break=cancel-noop",
                              *HEADLESS, "--run-time", "4s", "--cloud-timeout", "5", "--csv", str(prefix),
                              "--max-p95", "60s", "--min-jobs-per-minute", "1e9"), env_for(), tmp_path)
    assert result.returncode == 1, (result.stdout + result.stderr)[-3000:]
    failures = rows(Path(f"{prefix}_failures.csv"))
    line = next(i for i, text in enumerate((SHIPPED / "lifecycle.scenario.yaml").read_text().splitlines(), 1)
                if text.startswith("  - results:"))
    assert any(row["Method"] == "scenario" and f"lifecycle.scenario.yaml:{line}: step 5 (results) failed on sim:qa"
               in row["Error"] for row in failures), failures
    assert "FAIL error rate <= 0.00%" in result.stderr
    assert "ok   p95 of status <= 60000 ms" in result.stderr and "FAIL jobs per minute >= 1e+09" in result.stderr
    assert re.search(r"FAIL no job left active \(leak sweep\): [1-9]\d* leaked", result.stderr), result.stderr[-2000:]


def test_a_url_without_a_user_token_and_a_mark_that_matches_nothing_stop_with_one_line(tmp_path: Path) -> None:
    no_token = run(load_command("--headless"), {**env_for(), "CLOUDJOB_URL": "http://127.0.0.1:9"}, tmp_path)
    assert no_token.returncode == 2
    assert no_token.stderr.strip() == "pytest-cloudjob load: CLOUDJOB_URL is set but no user token: set CLOUDJOB_TOKEN"
    cloud = start_reference_cloud(tmp_path / "cloud.log")
    try:
        nothing = run(load_command("-m", "no_such_mark", "--headless", "-t", "1s"), env_for(cloud), tmp_path)
    finally:
        cloud.stop()
    assert nothing.returncode == 2
    assert "pytest-cloudjob load: no scenario to run: none of" in nothing.stderr and "Traceback" not in nothing.stderr


@pytest.mark.heavy(seconds=9)
@pytest.mark.parametrize(("defect", "caught_at"), [
    ("create-id-race", r"(lifecycle|admin)\.scenario\.yaml:\d+: step \d+ \(\w+\) failed"),
    ("list-same-millisecond", r"admin\.scenario\.yaml:\d+: step \d+ \(list_all\) failed"),
])
def test_a_load_only_defect_is_caught_by_the_load_run(tmp_path: Path, defect: str, caught_at: str) -> None:
    prefix = tmp_path / defect
    # a short wait deadline: a job the race overwrote may never reach what its scenario waits for
    result = run(load_command("-m", "lifecycle or admin", f"--cloud-arg=--break={defect}", *HEADLESS,
                              "--run-time", "6s", "--cloud-timeout", "5", "--csv", str(prefix)), env_for(), tmp_path)
    assert result.returncode == 1, (result.stdout + result.stderr)[-3000:]
    assert any(re.search(caught_at, row["Error"]) for row in rows(Path(f"{prefix}_failures.csv")))


def test_the_load_only_defects_are_missed_by_a_plain_serial_run_and_left_out_of_the_catalogue(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from pytest_cloudjob.server.defects import CATALOGUE, DEFECTS, LOAD_ONLY

    assert set(LOAD_ONLY) <= set(DEFECTS) and not set(LOAD_ONLY) & set(CATALOGUE)
    cloud = start_reference_cloud(tmp_path / "cloud.log", ["--break", "create-id-race", "--break",
                                                           "list-same-millisecond"])
    try:
        for path in SHIPPED.glob("*.scenario.yaml"):
            (pytester.path / path.name).write_text(path.read_text())
        for name, value in env_for(cloud).items():
            if name.startswith("CLOUDJOB_"):
                monkeypatch.setenv(name, value)
        # the scenarios that catch them under load (test above): a job's record, its results, the listing
        result = pytester.runpytest_subprocess("-m", "lifecycle or admin", "-k", "record or sample_count or listing",
                                               "-p", "no:randomly")
    finally:
        cloud.stop()
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed") == 3 and not outcomes.get("failed"), result.stdout.str()[-3000:]


@pytest.mark.heavy(seconds=10)
def test_distributed_one_master_two_workers_green_and_the_workers_requests_add_up(tmp_path: Path) -> None:
    cloud = start_reference_cloud(tmp_path / "cloud.log")
    env = env_for(cloud)
    env["CLOUDJOB_LOAD_RUN_ID"] = "load-distributed-test"
    port = str(free_port())
    prefix = tmp_path / "dist"
    try:
        master = subprocess.Popen(load_command("-m", "smoke", "--master", "--master-bind-host", "127.0.0.1",
                                               "--master-bind-port", port, "--expect-workers", "2", *HEADLESS,
                                               "--run-time", "4s", "--csv", str(prefix), "--html",
                                               str(tmp_path / "dist.html"), "--alluredir", str(tmp_path / "allure")),
                                  env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        worker_env = {**env, "CLOUDJOB_LOAD_RUN_ID": "a-worker-own-id-the-master-overrides"}
        workers = [subprocess.Popen(load_command("--worker", "--master-host", "127.0.0.1", "--master-port", port),
                                    env=worker_env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    text=True) for _ in range(2)]
        out, err = master.communicate(timeout=180)
        worker_outputs = [w.communicate(timeout=60) for w in workers]
    finally:
        cloud.stop()
    assert master.returncode == 0, err[err.find("pytest-cloudjob load run"):][:3000]
    assert all(w.returncode == 0 for w in workers), worker_outputs
    fired = [int(m.group(1)) for _, werr in worker_outputs
             for m in re.finditer(r"pytest-cloudjob load worker: (\d+) request events fired", werr)]
    assert len(fired) == 2 and all(fired), worker_outputs
    assert int(aggregated(prefix)["Request Count"]) == sum(fired)
    assert "load run load-distributed-test" in err and "0 leaked" in err
    texts = [out, err, *(o + e for o, e in worker_outputs), (tmp_path / "dist.html").read_text(),
             *(p.read_text() for p in tmp_path.glob("dist_*.csv")), *(p.read_text() for p in (tmp_path / "allure").iterdir())]
    assert len(list((tmp_path / "allure").glob("*-result.json"))) == 1
    for token in cloud.tokens.values():
        assert not any(token in text for text in texts), "a token is shown"
