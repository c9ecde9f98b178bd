"""The physics cache entries of the project's own tests, kept in ``warm-cache.json`` beside this file.

The package's seed (``pytest_cloudjob/physics/seed.json``) holds the shipped scenarios' physics; the tests
send experiments of their own (Haar unitaries, noisy platforms, drifted clouds), and on a fresh machine every
one of them was computed again, each in a process that imported Perceval for it: 40 s of the README's test
command's wall on CI's 2 cores (244 s cold against 204 s warm, docs/benchmarks.md §13). ``tests/conftest.py``
writes these entries into the suite's cache folder before the first test, so a fresh machine starts warm.

An entry's name is a key of everything it depends on (its inputs, Perceval's version, the physics code, and the
cloud's ``server/results.py`` and ``defects.py``): an entry out of date is never wrong, only unused, and
``tests/physics/test_seed.py`` fails when the code changed since this file was written. Write it again with

    python tests/warm_cache.py              # the whole suite on an empty cache, about 4 minutes

Tests of the cache itself give it a folder of their own (or turn it off) and never see these entries.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

from pytest_cloudjob.physics import cache, seed

ROOT = Path(__file__).resolve().parents[1]
PATH = Path(__file__).with_name("warm-cache.json")
OFF_ENV = "CLOUDJOB_TESTS_WARM_CACHE"  # "off": the suite starts from an empty cache (how this file is written)
# The modules outside physics/ that name their own source in their keys (server/results.py's cache.key calls).
CLOUD_CODE = (ROOT / "pytest_cloudjob" / "server" / "results.py", ROOT / "pytest_cloudjob" / "server" / "defects.py")


def version() -> str:
    """``perceval:physics-digest:cloud-digest``: what the entries were computed with."""
    digest = hashlib.sha256()
    for path in CLOUD_CODE:
        digest.update(path.read_bytes())
    return f"{cache.code_version()}:{digest.hexdigest()[:16]}"


def fill() -> int:
    """Write every entry absent from the cache folder (the cache off or the file unreadable: nothing); how many."""
    if cache.folder() is None or os.environ.get(OFF_ENV, "").strip().lower() == "off":
        return 0
    try:
        entries = json.loads(PATH.read_text(encoding="utf-8"))["entries"]
    except (OSError, ValueError, KeyError, TypeError):
        return 0
    written = 0
    for name, value in entries.items():
        if not cache.kept(name):
            cache.put(name, value)
            written += 1
    return written


def main() -> int:
    """Run the suite on an empty cache folder (the package's seed on) and keep what it computed; the tests of
    this file are left out (they read the file being written)."""
    entries = seed.computed_by([["tests", "-n", "4", "-k", "not warm_cache"]], seed=True, env={OFF_ENV: "off"}, cwd=ROOT)
    if isinstance(entries, str):
        print(f"warm cache: the suite failed, nothing written: {entries}", file=sys.stderr)
        return 1
    print("warm cache: " + seed.write(PATH, "Physics cache entries of the project's tests, written by python "
                                      "tests/warm_cache.py", version(), entries))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
