"""The run's per-platform figures, written into the Allure results folder so that they can be followed run to run.

Per platform: the p50 and p95 time to finish of its jobs and the status calls per job (the ``cloudjob``
summary's numbers), and each figure its ``datasheet`` checks estimated (estimate and interval ends, in %).
Two files, written by the controller once the run's numbers are final:

- ``cloudjob-perf.json``: Allure 3's performance metrics (3.17 and later read every ``*-perf.json`` of a results
  folder: ``id``, ``key``, ``value``, ``start``, ``stop``). Allure 3 shows them in its report's "Performance
  metrics" section and keeps each key's mean in its history file (``historyPath``), so the next report shows
  the value of every earlier run with its delta. Their titles, units, groups (one per platform) and the
  direction that is better go into ``allurerc.json``'s ``performance`` (and into each entry, for readers that
  take them from there).
- ``cloudjob-figures.json``: the same figures with all they came from (jobs by outcome, each datasheet check's
  test, interval, advertised value, margin, p-value and verdict), for a script or a dashboard of your own.

The keys are stable (``qpu:qa p95``, ``qpu:qa status calls/job``, ``qpu:qa datasheet g2``, ``... g2 low``):
history follows a key, not a run.
"""
from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_cloudjob.redaction import redact_data
from pytest_cloudjob.run.budget import CheckResult

PERF_FILE = "cloudjob-perf.json"
FIGURES_FILE = "cloudjob-figures.json"
_JOB_COUNTS = ("created", "completed", "failed", "canceled", "unended")


@dataclass(frozen=True)
class Metric:
    """One number for Allure 3: its stable key, what it is, its unit, which way is better, its platform."""

    id: str
    key: str
    value: float
    title: str
    unit: str
    better: str
    group: str


def run_figures(summary: Mapping[str, Mapping[str, Any]], checks: Iterable[CheckResult]) -> dict[str, Any]:
    """The per-platform figures of a run from its job statistics (``RunStats.summary()``) and its checks."""
    platforms: dict[str, dict[str, Any]] = {}
    for platform, row in sorted(summary.items()):
        platforms[platform] = {"jobs": {name: row.get(name, 0) for name in _JOB_COUNTS},
                               "p50_s": row.get("p50"), "p95_s": row.get("p95"),
                               "status_calls_per_job": row.get("calls_per_job"), "datasheet": []}
    for check in checks:
        if check.figure is None or not check.platform:
            continue
        entry = platforms.setdefault(check.platform, {"jobs": dict.fromkeys(_JOB_COUNTS, 0), "p50_s": None,
                                                      "p95_s": None, "status_calls_per_job": None, "datasheet": []})
        entry["datasheet"].append({"test": check.test, "where": check.where, **check.figure})
    return {"platforms": platforms}


def metrics(figures: Mapping[str, Any]) -> list[Metric]:
    """The numbers of ``figures`` Allure 3 follows: times and calls per platform, each datasheet estimate."""
    out: list[Metric] = []
    ids: dict[str, int] = {}

    def unique(text: str) -> str:  # two checks of one figure in one test: #2 (stable from run to run)
        ids[text] = ids.get(text, 0) + 1
        return text if ids[text] == 1 else f"{text} #{ids[text]}"
    for platform, entry in figures["platforms"].items():
        for name, short, title, unit in (("p50_s", "p50", "p50 time to finish", "s"),
                                         ("p95_s", "p95", "p95 time to finish", "s"),
                                         ("status_calls_per_job", "status calls/job", "status calls per job", "calls")):
            if entry[name] is not None:
                key = f"{platform} {short}"
                out.append(Metric(key, key, float(entry[name]), f"{platform}: {title}", unit, "lower", platform))
        for check in entry["datasheet"]:
            key = f"{platform} datasheet {check['figure']}"
            label = f"{platform}: {check['label']}"
            for suffix, value, what in (("", check["estimate"], "estimated"), (" low", check["low"], "interval low"),
                                        (" high", check["high"], "interval high")):
                out.append(Metric(unique(f"{key}{suffix} {check['test']}"), f"{key}{suffix}",
                                  round(100 * float(value), 6), f"{label} {what} (datasheet, advertised "
                                  f"{100 * check['advertised']:g} ± {100 * check['margin']:g})", "%",
                                  check["better"], platform))
    return out


def performance_config(found: Iterable[Metric]) -> dict[str, Any]:
    """``allurerc.json``'s ``performance``: each key's title, unit, better direction and platform group."""
    items = list(found)
    return {"groups": {m.group: {"title": f"platform {m.group}"} for m in items},
            "metrics": {m.key: {"title": m.title, "unit": m.unit, "better": m.better, "group": m.group} for m in items}}


def write_figures(report_dir: Path, figures: Mapping[str, Any], found: Iterable[Metric],
                  when: float | None = None) -> None:
    """``cloudjob-perf.json`` (Allure 3's metrics) and ``cloudjob-figures.json`` into ``report_dir``, masked as
    they are written (a test's node id, in both, can hold a token)."""
    stamp = int(1000 * (time.time() if when is None else when))
    perf = [{"id": m.id, "key": m.key, "value": m.value, "start": stamp, "stop": stamp, "title": m.title,
             "unit": m.unit, "better": m.better, "group": m.group} for m in found]
    (report_dir / PERF_FILE).write_text(json.dumps(redact_data(perf), indent=2) + "\n", encoding="utf-8")
    (report_dir / FIGURES_FILE).write_text(json.dumps(redact_data(figures), indent=2) + "\n", encoding="utf-8")
