"""The end of a load run: a summary per platform and per call, and per platform its jobs, to the terminal,
and the same as one Allure result (the Locust HTML report attached) so a load run sits beside the
functional runs in the QA lead's report. Everything written goes through :func:`redact`."""
from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from locust.stats import RequestStats

from pytest_cloudjob.load.tally import JOB_KINDS, Tally
from pytest_cloudjob.load.thresholds import Check
from pytest_cloudjob.load.users import SCENARIO_TYPE
from pytest_cloudjob.redaction import redact, redact_data

PERCENTILES = (0.5, 0.95, 0.99)
MAX_FAILURES_SHOWN = 5


def summary(stats: RequestStats, tally: Tally, leaks: list[tuple[str, str, str, str]], checks: list[Check],
            run_id: str, url: str, seconds: float) -> str:
    """The run's summary: calls per platform and call, jobs per platform, scenario runs, thresholds."""
    lines = [f"pytest-cloudjob load run {run_id} against {url}: {seconds:.0f} s",
             f"{'platform':<12} {'call':<16} {'requests':>9} {'failures':>9} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}"]
    for (name, method), entry in sorted(stats.entries.items(), key=lambda kv: (kv[0][1] == SCENARIO_TYPE, kv[0][1],
                                                                                 kv[0][0])):
        if method == SCENARIO_TYPE:
            continue
        p50, p95, p99 = (entry.get_response_time_percentile(p) for p in PERCENTILES)
        lines.append(f"{method:<12} {name:<16} {entry.num_requests:>9} {entry.num_failures:>9} "
                     f"{p50:>8.0f} {p95:>8.0f} {p99:>8.0f}")
    leaked = Counter(platform for _, platform, _, _ in leaks)
    lines.append(f"{'platform':<12} " + " ".join(f"{k:>9}" for k in (*JOB_KINDS, "leaked")) + "  (jobs)")
    for platform in sorted(set(tally.jobs) | set(leaked)):
        counts = tally.jobs[platform]
        lines.append(f"{platform:<12} " + " ".join(f"{counts[k]:>9}" for k in JOB_KINDS) + f" {leaked[platform]:>9}")
    runs = tally.runs
    lines.append(f"scenario runs: {runs['passed']} passed, {runs['failed']} failed, {runs['skipped']} skipped")
    for text in tally.failures[:MAX_FAILURES_SHOWN]:
        lines.append("  " + text.replace("\n", "\n  "))
    lines += [check.line() for check in checks]
    verdict = "passed" if all(c.ok for c in checks) else "FAILED"
    lines.append(f"load run {verdict}")
    return redact("\n".join(lines))


def write_allure(alluredir: str, text: str, checks: list[Check], started: float, html: str | None,
                 parameters: dict[str, str]) -> Path:
    """One Allure result for the run (``<uuid>-result.json``), with the summary and the HTML report attached."""
    folder = Path(alluredir)
    folder.mkdir(parents=True, exist_ok=True)
    attachments = [_attach(folder, "load run summary", text, "text/plain", "txt")]
    if html is not None:
        attachments.append(_attach(folder, "Locust report", html, "text/html", "html"))
    failed = [c for c in checks if not c.ok]
    result: dict[str, Any] = {
        "uuid": str(uuid.uuid4()), "historyId": f"pytest_cloudjob.load:{parameters.get('scenarios', '')}",
        "name": f"load run: {parameters.get('scenarios', '')}", "fullName": "pytest_cloudjob.load",
        "status": "failed" if failed else "passed", "stage": "finished",
        "statusDetails": {"message": "; ".join(c.line() for c in failed) if failed else "every threshold held"},
        "start": int(started * 1000), "stop": int(time.time() * 1000),
        "labels": [{"name": "suite", "value": "load"}, {"name": "framework", "value": "locust"},
                   {"name": "tag", "value": "load"}],
        "parameters": [{"name": k, "value": v} for k, v in parameters.items()],
        "attachments": attachments,
    }
    path = folder / f"{result['uuid']}-result.json"
    _write(path, json.dumps(redact_data(result), ensure_ascii=False))
    return path


def _attach(folder: Path, name: str, body: str, mime: str, ext: str) -> dict[str, str]:
    source = f"{uuid.uuid4()}-attachment.{ext}"
    _write(folder / source, redact(body))
    return {"name": name, "source": source, "type": mime}


def _write(path: Path, text: str) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)
