"""Scenario files as pytest items: one item per scenario and platform, with marks, ids and clean failures."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_cloudjob.scenarios.loader import ScenarioFormatError, load_documents
from pytest_cloudjob.scenarios.model import Scenario, parse_scenario
from pytest_cloudjob.scenarios.runner import ScenarioRunner, StepFailure
from pytest_cloudjob.target import RUN, prepare_or_exit

DEFAULT_PATTERNS = ("*.scenario.yaml", "*.scenario.yml")


class ScenarioFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        run = self.config.stash[RUN]
        try:
            scenarios = [parse_scenario(doc, self.path, i) for i, doc in enumerate(load_documents(self.path))]
        except ScenarioFormatError as exc:
            raise self.CollectError(str(exc)) from None
        seen: dict[str, int] = {}
        for scenario in scenarios:
            if scenario.name in seen:
                raise self.CollectError(f"{self.path}:{scenario.line}: scenario name {scenario.name!r} is already "
                                        f"used at line {seen[scenario.name]}")
            seen[scenario.name] = scenario.line
            configured = run.settings.platforms
            chosen = [p for p in configured if not scenario.platforms or p in scenario.platforms]
            if not chosen:
                item = ScenarioItem.from_parent(self, name=f"{scenario.name}[no-platform]", scenario=scenario,
                                                platform="")
                item.add_marker(pytest.mark.skip(reason=f"restricted to {', '.join(scenario.platforms)}, none of "
                                                        f"which is configured ({', '.join(configured)})"))
                yield item
                continue
            for platform in chosen:
                yield ScenarioItem.from_parent(self, name=f"{scenario.name}[{platform}]", scenario=scenario,
                                               platform=platform)


class ScenarioItem(pytest.Item):
    def __init__(self, *, scenario: Scenario, platform: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scenario = scenario
        self.platform = platform
        for mark in scenario.marks:
            self.config.addinivalue_line("markers", f"{mark}: used by scenarios")
            self.add_marker(mark)

    def runtest(self) -> None:
        run = self.config.stash[RUN]
        prepare_or_exit(run)
        users = {name: run.user(name) for name in ("user", "other", "admin")}
        ScenarioRunner(self.scenario, self.platform, run.shared_context(), users, run.run_id,
                       run.settings.slow_platform, run.settings.pcvl_version, run.settings.timeout).run()

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, StepFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.scenario.line - 1, f"scenario: {self.scenario.name} [{self.platform}]"


def matches(path: Path, patterns: list[str]) -> bool:
    return any(path.match(pattern) for pattern in patterns)
