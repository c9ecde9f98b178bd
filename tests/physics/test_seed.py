"""The physics seed (``pytest_cloudjob/physics/seed.json``): a fresh machine's first ``pytest scenarios`` reads
the shipped scenarios' physics from it instead of importing Perceval in three processes (issue 22). It must
be current (written by the code as it is) and complete (the shipped suite on both platforms finds every entry
it needs there: nothing is computed, so nothing is written to an empty cache folder)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import warm_cache

from pytest_cloudjob.physics import cache

SHIPPED = Path(__file__).resolve().parents[2] / "scenarios"
SEED = json.loads(cache.SEED_PATH.read_text(encoding="utf-8"))
REGENERATE = "python -m pytest_cloudjob.physics.seed"


def _perceval_and_code(version: str) -> tuple[str, str]:
    perceval, _, code = version.partition(":")
    return perceval, code


def test_the_seed_was_written_by_the_physics_code_as_it_is():
    assert _perceval_and_code(SEED["version"])[1] == _perceval_and_code(cache.code_version())[1], \
        f"the physics code changed since the seed was written: run {REGENERATE}"
    assert SEED["entries"] and all(name.split("-")[0] in ("cloud", "compiled", "reference", "datasheet", "acceptance")
                                   for name in SEED["entries"])


def test_the_tests_warm_cache_was_written_by_the_code_as_it_is():
    """Out of date, its entries go unused and a fresh machine's suite computes them again (40 s on CI)."""
    kept = json.loads(warm_cache.PATH.read_text(encoding="utf-8"))
    perceval, _, code = kept["version"].partition(":")
    if perceval != _perceval_and_code(cache.code_version())[0]:
        pytest.skip(f"the tests' warm cache was computed with Perceval {perceval}, another is installed")
    assert code == warm_cache.version().partition(":")[2], \
        "the physics or the cloud's code changed since tests/warm-cache.json was written: run python tests/warm_cache.py"
    assert kept["entries"] and not set(kept["entries"]) & set(SEED["entries"]), "the package's seed has these already"


def test_the_warm_cache_fills_an_empty_folder_and_keeps_what_is_there(tmp_path, monkeypatch):
    entries = json.loads(warm_cache.PATH.read_text(encoding="utf-8"))["entries"]
    first = next(iter(entries))
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path))
    (tmp_path / f"{first}.json").write_text("[1]", encoding="utf-8")
    assert warm_cache.fill() == len(entries) - 1
    assert cache.get(first) == [1] and all(cache.get(name) == value for name, value in list(entries.items())[1:])
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path / "other"))
    monkeypatch.setenv(warm_cache.OFF_ENV, "off")
    assert warm_cache.fill() == 0 and not (tmp_path / "other").exists()


def test_a_seeded_entry_is_found_without_a_cache_entry_and_ignored_when_the_seed_is_off(tmp_path, monkeypatch):
    name, value = next(iter(SEED["entries"].items()))
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path))
    assert cache.get(name) == value and cache.get("reference-" + "0" * 40) is None
    monkeypatch.setenv(cache.SEED_ENV, "off")
    assert cache.get(name) is None
    monkeypatch.setenv(cache.SEED_ENV, "")
    monkeypatch.setenv(cache.CACHE_ENV, "off")
    assert cache.get(name) is None  # the cache off is every entry computed


PROBE = '''
import sys


def pytest_unconfigure(config):
    open("perceval-imported.txt", "w").write(str("perceval" in sys.modules))
'''


@pytest.mark.heavy(seconds=30)
def test_the_shipped_suite_on_both_platforms_finds_all_its_physics_in_the_seed(pytester, monkeypatch):
    if _perceval_and_code(SEED["version"])[0] != _perceval_and_code(cache.code_version())[0]:
        pytest.skip(f"the seed was computed with Perceval {SEED['version'].split(':')[0]}, another is installed: "
                    f"unused until {REGENERATE}")
    for path in SHIPPED.glob("*.scenario.yaml"):
        shutil.copy(path, pytester.path / path.name)
    pytester.makeconftest(PROBE)
    empty = pytester.path / "empty-cache"
    monkeypatch.setenv(cache.CACHE_ENV, str(empty))
    monkeypatch.delenv(cache.SEED_ENV, raising=False)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--cloud-platform", "sim:qa",
                                           "--cloud-platform", "qpu:qa", "-m", "physics")
    assert result.ret == 0, result.stdout.str()
    assert (pytester.path / "perceval-imported.txt").read_text() == "False", "the pytest process imported Perceval"
    computed = sorted(p.name for p in empty.glob("*.json")) if empty.exists() else []
    assert computed == [], f"computed, not found in the seed (run {REGENERATE}): {computed}"
