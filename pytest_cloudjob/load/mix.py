"""Which scenarios a load run runs, on which platforms, how often: the same files, marks and platforms
as a pytest run, plus a weight per scenario or mark (on the command line or in a small YAML file).

Loaded with the scenario package's own loader and model, so a scenario that would not collect under
pytest stops the load run with the same ``file:line`` message.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from _pytest.mark.expression import Expression

from pytest_cloudjob.errors import CloudJobError
from pytest_cloudjob.scenarios.collect import DEFAULT_PATTERNS, physics_unavailable
from pytest_cloudjob.scenarios.loader import ScenarioFormatError, load_documents
from pytest_cloudjob.scenarios.model import Scenario, parse_scenario


class MixError(CloudJobError):
    """The scenarios, marks or weights of a load run are wrong; one line naming what."""


@dataclass(frozen=True)
class Choice:
    """One scenario on one platform, and how often a user picks it relative to the others."""

    scenario: Scenario
    platform: str
    weight: float

    @property
    def name(self) -> str:
        return f"{self.scenario.name} [{self.platform}]"


def scenario_files(paths: list[str]) -> list[Path]:
    """The scenario files under ``paths`` (files as given, folders searched like pytest's collection)."""
    files: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_file():
            files.append(path.absolute())
        elif path.is_dir():
            files += sorted(p.absolute() for pattern in DEFAULT_PATTERNS for p in path.rglob(pattern)
                            if "strict" not in p.relative_to(path).parts)
        else:
            raise MixError(f"{given}: no such scenario file or folder")
    if not files:
        raise MixError(f"no scenario file ({' or '.join(DEFAULT_PATTERNS)}) under {', '.join(paths)}")
    return files


def load_scenarios(paths: list[str]) -> list[Scenario]:
    scenarios: list[Scenario] = []
    for path in scenario_files(paths):
        try:
            documents = load_documents(path)
            parsed = [parse_scenario(doc, path, i) for i, doc in enumerate(documents)]
        except ScenarioFormatError as exc:
            raise MixError(str(exc)) from None
        scenarios += [one for scenario in parsed for one in scenario.expanded()]
    return scenarios


def selected(scenario: Scenario, mark_expression: str) -> bool:
    """Whether ``scenario``'s marks match a pytest ``-m`` expression (empty: every scenario)."""
    if not mark_expression:
        return True
    try:
        expression = Expression.compile(mark_expression)
    except SyntaxError as exc:
        raise MixError(f"-m {mark_expression!r}: {exc}") from None
    marks = set(scenario.marks)

    def match(name: str, /, **kwargs: Any) -> bool:
        return not kwargs and name in marks
    return expression.evaluate(match)


def parse_weights(items: list[str], weights_file: str | None) -> dict[str, float]:
    """``KEY=N`` pairs (a mark or a scenario name), from the command line and from ``weights_file``:
    a YAML mapping of the same keys to numbers (the command line wins)."""
    weights: dict[str, float] = {}
    if weights_file:
        try:
            data = yaml.safe_load(Path(weights_file).read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise MixError(f"--cloud-weights {weights_file}: cannot read it ({exc})") from None
        if not isinstance(data, dict):
            raise MixError(f"--cloud-weights {weights_file}: expected a mapping of mark or scenario name to a weight")
        for key, value in data.items():
            weights[str(key)] = _weight(value, f"--cloud-weights {weights_file}: {key}")
    for item in items:
        key, sep, value = item.rpartition("=")
        if not sep or not key:
            raise MixError(f"--cloud-weight {item!r}: expected MARK=N or 'SCENARIO NAME'=N")
        weights[key] = _weight(value, f"--cloud-weight {item!r}")
    return weights


def _weight(value: Any, where: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = -1.0
    if not number >= 0:
        raise MixError(f"{where}: a weight is a number >= 0, got {value!r}")
    return number


def _mark_weight(weights: list[float]) -> float:
    return 0.0 if 0 in weights else max(weights, default=1.0)


def build_mix(paths: list[str], mark_expression: str, platforms: list[str], weights: dict[str, float]
              ) -> tuple[list[Choice], list[str]]:
    """The weighted choices of a run, and why each left-out scenario was left out.

    A scenario's weight is its own name's, else 0 if one of its marks weighs 0, else the largest of its
    marks' weights, else 1; 0 leaves it out.
    """
    choices: list[Choice] = []
    left_out: list[str] = []
    scenarios = load_scenarios(paths)
    names = {s.name for s in scenarios}
    marks = {m for s in scenarios for m in s.marks}
    unknown = [key for key in weights if key not in names and key not in marks]
    if unknown:
        raise MixError(f"weight for {unknown[0]!r}, which is neither a mark nor a scenario name of the run")
    for scenario in scenarios:
        if not selected(scenario, mark_expression):
            continue
        weight = weights.get(scenario.name, _mark_weight([weights[m] for m in scenario.marks if m in weights]))
        reason = physics_unavailable(scenario)
        if reason:
            left_out.append(f"{scenario.path}:{scenario.line}: {scenario.name}: {reason}")
            continue
        chosen = [p for p in platforms if not scenario.platforms or p in scenario.platforms]
        if not chosen:
            left_out.append(f"{scenario.path}:{scenario.line}: {scenario.name}: restricted to "
                            f"{', '.join(scenario.platforms)}, none of which is configured")
        if weight > 0:
            choices += [Choice(scenario, platform, weight) for platform in chosen]
    if not choices:
        raise MixError(f"no scenario to run: none of {', '.join(paths)} matches -m {mark_expression!r} "
                       f"on {', '.join(platforms)}" + (f" ({'; '.join(left_out)})" if left_out else ""))
    return choices, left_out
