"""Every error pytest-cloudjob raises on purpose is a ``CloudJobError`` and importable from the package root."""
from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import pytest_cloudjob
from pytest_cloudjob.errors import CloudJobError

# The reference cloud's own control flow (each becomes an HTTP answer, never leaves its process), the load
# run (it needs gevent's monkey-patching) and the mutation command's internal stop signal are not public.
PRIVATE = ("pytest_cloudjob.server.", "pytest_cloudjob.load.", "pytest_cloudjob.mutation.")
PUBLIC_FROM_THE_SERVER = {"pytest_cloudjob.server.process"}


def exceptions_defined() -> dict[str, type[BaseException]]:
    """``module.Name`` -> class, for every exception class our public modules define (not warnings)."""
    found: dict[str, type[BaseException]] = {}
    for info in pkgutil.walk_packages(pytest_cloudjob.__path__, "pytest_cloudjob."):
        name = info.name
        if name.endswith("__main__") or (name.startswith(PRIVATE) and name not in PUBLIC_FROM_THE_SERVER):
            continue
        module = importlib.import_module(name)
        for attribute, value in vars(module).items():
            if (inspect.isclass(value) and issubclass(value, Exception) and not issubclass(value, Warning)
                    and value.__module__ == name and not attribute.startswith("_")):
                found[f"{name}.{attribute}"] = value
    return found


def test_every_public_error_derives_from_cloudjoberror():
    outside = sorted(name for name, cls in exceptions_defined().items() if not issubclass(cls, CloudJobError))
    assert outside == []


def test_every_public_error_is_importable_from_the_package_root():
    missing = sorted(name for name, cls in exceptions_defined().items()
                     if getattr(pytest_cloudjob, cls.__name__, None) is not cls)
    assert missing == []


@pytest.mark.parametrize(("name", "also"), [("ResponseTooLargeError", OSError), ("MatcherTypo", ValueError),
                                             ("StepFailure", AssertionError)])
def test_the_errors_that_were_outside_the_root_keep_their_old_base(name: str, also: type[Exception]) -> None:
    """Code that caught them by their old base (``except requests.RequestException`` ...) still does."""
    cls = getattr(pytest_cloudjob, name)
    assert issubclass(cls, CloudJobError) and issubclass(cls, also)
