"""Scenario files as pytest items: one item per scenario (per ``parametrize:`` row) and platform, with marks,
ids and failures that read in one go."""
from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_cloudjob.errors import CloudJobError
from pytest_cloudjob.run.settings import configured_users
from pytest_cloudjob.run.target import RUN, prepare_or_exit
from pytest_cloudjob.scenarios.harness import HarnessError
from pytest_cloudjob.scenarios.loader import ScenarioFormatError, load_documents
from pytest_cloudjob.scenarios.matchers import STATISTICAL
from pytest_cloudjob.scenarios.model import Scenario, parse_scenario
from pytest_cloudjob.scenarios.runner import ScenarioRunner, ScenarioSetup, StepFailure
from pytest_cloudjob.server.platforms import default_platforms
from pytest_cloudjob.text import closest

DEFAULT_PATTERNS = ("*.scenario.yaml", "*.scenario.yml")
#: A ``platforms:`` name this close to a known one, and not known itself, is taken for a typo.
PLATFORM_TYPO = 0.8


class ScenarioFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        run = self.config.stash[RUN]
        try:
            included: dict[Path, list[Any]] = {}  # each steps file read once for the whole file
            scenarios = [parse_scenario(doc, self.path, i, included)
                         for i, doc in enumerate(load_documents(self.path))]
        except ScenarioFormatError as exc:
            raise self.CollectError(str(exc)) from None
        seen: dict[str, int] = {}
        configured = run.settings.platforms
        known = known_platforms(configured, run.settings.slow_platform)
        for scenario in scenarios:
            if scenario.name in seen:
                raise self.CollectError(f"{self.path}:{scenario.line}: scenario name {scenario.name!r} is already "
                                        f"used at line {seen[scenario.name]}")
            seen[scenario.name] = scenario.line
            self.check_marks(scenario)
            for name in scenario.platforms:
                hint = closest(name, sorted(known), PLATFORM_TYPO)
                if name not in known and hint:
                    raise self.CollectError(
                        f"{self.path}:{scenario.platforms_line}: scenario {scenario.name!r}: unknown platform "
                        f"{name!r}{hint}; known: {', '.join(sorted(known))}")
            chosen = [p for p in configured if not scenario.platforms or p in scenario.platforms]
            for one in scenario.expanded():
                if not chosen:
                    item = ScenarioItem.from_parent(self, name=f"{one.name}[no-platform]", scenario=one, platform="")
                    item.add_marker(pytest.mark.skip(reason=f"restricted to {', '.join(scenario.platforms)}, none of "
                                                            f"which is configured ({', '.join(configured)})"))
                    yield item
                    continue
                unavailable = physics_unavailable(one)
                for platform in chosen:
                    item = ScenarioItem.from_parent(self, name=f"{one.name}[{platform}]", scenario=one, platform=platform)
                    if unavailable:
                        item.add_marker(pytest.mark.skip(reason=unavailable))
                    yield item

    def check_marks(self, scenario: Scenario) -> None:
        """An undeclared mark behaves as for Python tests: a warning, or under --strict-markers an error."""
        declared = {line.split(":")[0].split("(")[0].strip() for line in self.config.getini("markers")}
        for mark in scenario.marks:
            if mark in declared or mark in _BUILTIN_MARKS:
                continue
            message = (f"{self.path}:{scenario.marks_line}: scenario {scenario.name!r}: mark {mark!r} is not "
                       f"registered{closest(mark, declared)}; declare it under 'markers' in the ini file")
            if _strict_markers(self.config):
                raise self.CollectError(message)
            warnings.warn_explicit(pytest.PytestUnknownMarkWarning(message), pytest.PytestUnknownMarkWarning,
                                   str(self.path), scenario.marks_line)


_BUILTIN_MARKS = frozenset({"skip", "skipif", "xfail", "usefixtures", "filterwarnings", "parametrize"})


def _strict_markers(config: pytest.Config) -> bool:
    strict = config.getini("strict_markers") if _has_ini(config, "strict_markers") else None
    if strict is None and _has_ini(config, "strict"):
        strict = config.getini("strict")
    return bool(strict or getattr(config.option, "strict_markers", False))


def _has_ini(config: pytest.Config, name: str) -> bool:
    try:
        config.getini(name)
    except ValueError:
        return False
    return True


def known_platforms(configured: tuple[str, ...], slow_platform: str) -> set[str]:
    """Platform names known before any call: the configured ones, the slow one, the reference cloud's own.

    A name outside them that is close to one of them is a typo (an error); a name far from all of them
    may be a platform of the target this run does not configure (skipped, with the reason).
    """
    return {*configured, slow_platform, *default_platforms()}


class ScenarioItem(pytest.Item):
    def __init__(self, *, scenario: Scenario, platform: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scenario = scenario
        self.platform = platform
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", pytest.PytestUnknownMarkWarning)  # said once, by check_marks
            for mark in scenario.marks:
                self.add_marker(mark)

    def runtest(self) -> None:
        run = self.config.stash[RUN]
        prepare_or_exit(run)
        users = configured_users(run.tokens)
        setup = ScenarioSetup(context=run.shared_context(), users=users, run_id=run.run_id,
                              slow_platform=run.settings.slow_platform, pcvl_version=run.settings.pcvl_version,
                              timeout=run.settings.timeout, budget=run.budget, test=self.nodeid)
        ScenarioRunner(self.scenario, self.platform, setup).run()

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        """The step's own failure, without the harness's traceback: ``file:line`` first."""
        error = excinfo.value
        if isinstance(error, StepFailure):
            return str(error)
        if isinstance(error, HarnessError):
            return f"harness error (the scenario, not the cloud): {error}"
        if isinstance(error, CloudJobError):
            return f"{self.path}:{self.scenario.line}: scenario {self.scenario.name!r}: {error}"
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.scenario.line - 1, f"scenario: {self.scenario.name} [{self.platform}]"


#: The marks of the shipped suite (scenarios/), declared by the plugin so it runs clean under --strict-markers.
SHIPPED_MARKS = {
    "smoke": "a quick check of the main promises",
    "lifecycle": "create, follow, read results",
    "cancel": "cancelling jobs",
    "rerun": "rerunning ended jobs",
    "admin": "admin listing and cancel-many",
    "security": "authentication and tenant isolation",
    "platform": "platform details",
    "validation": "refusal of invalid requests",
    "physics": "results that follow from the submitted experiment (they need pytest-cloudjob[physics])",
}


_MARKS_DECLARED = pytest.StashKey[bool]()


def declare_shipped_marks(config: pytest.Config) -> None:
    """Declare :data:`SHIPPED_MARKS` once per run (a fixed list: a typo in a scenario's marks is still caught)."""
    if config.stash.get(_MARKS_DECLARED, False):
        return
    config.stash[_MARKS_DECLARED] = True
    for name, meaning in SHIPPED_MARKS.items():
        config.addinivalue_line("markers", f"{name}: {meaning} (shipped scenarios)")


def physics_unavailable(scenario: Scenario) -> str | None:
    """Why a scenario's ``distribution`` checks cannot run here (their reference needs Perceval, not installed),
    or its experiment written as components could not be compiled (the same): the scenario is skipped with
    that reason before it makes a job, since the cloud is not at fault."""
    found = [pair for step in scenario.steps for key in ("expect", "require") for pair in _statistical(step.args.get(key))]
    if any(step.kind == "create" and isinstance(step.args.get("payload"), dict)
           and isinstance(step.args["payload"].get("experiment"), dict) for step in scenario.steps):
        # an experiment written as components, left uncompiled: Perceval is missing (scenarios/model.py)
        from pytest_cloudjob.physics import simulate

        reason = simulate.unavailable_reason()
        if reason:
            return f"an experiment written as components needs Perceval to be compiled: {reason}"
    if not found:
        return None
    from pytest_cloudjob.physics import simulate
    from pytest_cloudjob.physics.distribution import skip_reason

    for name, _ in found:  # a datasheet or acceptance check models the experiment's source with Perceval
        reason = simulate.unavailable_reason() if name != "distribution" else None
        if reason:
            return f"{'an' if name[0] in 'aeiou' else 'a'} {name} check needs Perceval: {reason}"
    return next((f"{reason}" for reason in (skip_reason(spec) for _, spec in found) if reason), None)


def statistical_checks(items: list[pytest.Item]) -> int:
    """The m of the run's false-alarm budget: the statistical matchers (``matchers.STATISTICAL``) of the
    collected scenarios that will run (one per matcher, step and platform; a scenario skipped at collection has
    none)."""
    return sum(len(_statistical(step.args.get(key))) for item in items
               if isinstance(item, ScenarioItem) and item.get_closest_marker("skip") is None
               for step in item.scenario.steps for key in ("expect", "require"))


def _statistical(spec: Any) -> list[tuple[str, Any]]:
    """Each statistical matcher in ``spec``, as (its name, its argument)."""
    if isinstance(spec, dict):
        own = [(name, spec[name]) for name in STATISTICAL if isinstance(spec.get(name), dict)]
        return own + [found for key, sub in spec.items() if key not in STATISTICAL for found in _statistical(sub)]
    if isinstance(spec, list):
        return [found for sub in spec for found in _statistical(sub)]
    return []


def matches(path: Path, patterns: list[str]) -> bool:
    return any(path.match(pattern) for pattern in patterns)


def looks_like_unmatched_scenario(path: Path, patterns: list[str]) -> str | None:
    """A warning text when ``path`` is a YAML file with top-level ``steps:`` that no scenario pattern matches.

    Meant for ``pytest_collect_file``: a scenario named ``x.yaml`` is otherwise silently never run.
    """
    if path.suffix not in (".yaml", ".yml") or matches(path, patterns) or path.name.endswith((".steps.yaml",
                                                                                                ".steps.yml")):
        return None
    try:
        with path.open(encoding="utf-8") as handle:
            head = handle.read(65536)
    except (OSError, UnicodeDecodeError):
        return None
    if not any(line.startswith("steps:") for line in head.splitlines()):
        return None
    return (f"{path}: looks like a scenario (top-level 'steps:') but is not collected: scenario files match "
            f"{' or '.join(patterns)} (rename it, or set cloud_scenario_patterns)")
