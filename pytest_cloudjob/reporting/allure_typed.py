"""Typed doors to the few allure calls the plugin makes.

allure-python ships partial annotations, so ``mypy --strict`` refuses its unannotated functions
(``no-untyped-call``). Going through ``Any`` here, once, keeps every other module fully checked.
"""
from __future__ import annotations

from typing import Any, cast

import allure
import allure_commons.utils

_allure: Any = allure
_utils: Any = allure_commons.utils


def step_context(title: str) -> Any:
    """``allure.step(title)`` as a bare context object (its ``__exit__`` is driven by hand)."""
    return _allure.step(title)


def dynamic_label(name: str, value: str) -> None:
    _allure.dynamic.label(name, value)


def dynamic_title(title: str) -> None:
    _allure.dynamic.title(title)


def dynamic_description(text: str) -> None:
    _allure.dynamic.description(text)


def now() -> int:
    """allure's timestamp: milliseconds since the epoch."""
    return cast(int, _utils.now())


def uuid4() -> str:
    return cast(str, _utils.uuid4())
