"""Physics computed once: what Perceval answers for an experiment is a pure function of its inputs.

Importing Perceval costs a process about 3.5 s of CPU and 170 MB, and a reference at 12 modes / 6 photons
seconds more; a suite run, a mutation run or a load run computes the same few experiments in many
processes (the pytest process, each reference cloud, its simulation worker). A result is kept on disk
under a key made of everything it depends on (what is computed, its inputs, the installed Perceval's
version and the source of the code that computes it) and read back without importing Perceval.

Each user of the cache names its own ``kind`` (the ``distribution`` check's references and the reference
cloud's plans are separate entries), so the cloud under test never answers from what the check computed.
``CLOUDJOB_PHYSICS_CACHE`` names the folder (default: ``$XDG_CACHE_HOME/pytest-cloudjob/physics``);
``off`` turns the cache off. An entry that cannot be read is a miss; a folder that cannot be written is
no cache, never an error.

A fresh machine's first run would still import Perceval in three processes: the package ships a **seed**,
``seed.json`` beside this module, holding the entries of the shipped scenarios on the reference cloud's
platforms (``python -m pytest_cloudjob.physics.seed`` writes it). Its names are keys as above, so an entry
is found only for the same inputs, Perceval version and code: a stale seed is never wrong, only unused.
``CLOUDJOB_PHYSICS_SEED=off`` ignores it (the cache off ignores it too).
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.metadata
import json
import os
import tempfile
from pathlib import Path
from typing import Any

CACHE_ENV = "CLOUDJOB_PHYSICS_CACHE"
SEED_ENV = "CLOUDJOB_PHYSICS_SEED"
SEED_PATH = Path(__file__).with_name("seed.json")
MAX_ENTRY_BYTES = 16 << 20  # a 12-mode / 6-photon distribution takes ~0.6 MB; larger is not kept
_SCHEMA = 1


def folder() -> Path | None:
    """Where entries live, or ``None`` when the cache is off."""
    chosen = os.environ.get(CACHE_ENV, "").strip()
    if chosen.lower() == "off":
        return None
    if chosen:
        return Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "pytest-cloudjob" / "physics"


@functools.lru_cache(maxsize=1)
def _versions() -> str:
    """Perceval's installed version and a digest of this package's physics code, read without importing it."""
    try:
        perceval = importlib.metadata.version("perceval-quandela")
    except importlib.metadata.PackageNotFoundError:
        perceval = "none"
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return f"{perceval}:{digest.hexdigest()[:16]}"


def key(kind: str, inputs: Any, code: tuple[Path, ...] = ()) -> str:
    """The entry name of ``kind`` computed from ``inputs`` (JSON-able), by this package's physics code and
    the modules in ``code`` (a caller outside ``physics/`` names its own source)."""
    digest = hashlib.sha256(json.dumps([_SCHEMA, kind, _versions(), inputs], sort_keys=True, default=str).encode())
    for path in code:
        digest.update(path.read_bytes())
    return f"{kind}-{digest.hexdigest()[:40]}"


def get(name: str) -> Any | None:
    """The value kept under ``name``, or ``None`` (a miss: absent, unreadable, or the cache off)."""
    where = folder()
    if where is None:
        return None
    try:
        with open(where / f"{name}.json", encoding="utf-8") as stream:
            return json.load(stream)
    except (OSError, ValueError):
        pass
    if os.environ.get(SEED_ENV, "").strip().lower() == "off":
        return None
    return _seed().get(name)


@functools.lru_cache(maxsize=1)
def _seed() -> dict[str, Any]:
    """The shipped seed's entries by name (empty when it is absent or unreadable): read once per process."""
    try:
        with open(SEED_PATH, encoding="utf-8") as stream:
            entries = json.load(stream).get("entries")
    except (OSError, ValueError, AttributeError):
        return {}
    return entries if isinstance(entries, dict) else {}


def code_version() -> str:
    """What the seed's entries were computed with: Perceval's version and the physics code's digest."""
    return _versions()


def kept(name: str) -> bool:
    """Whether the cache folder holds an entry named ``name`` (the shipped seed not counted)."""
    where = folder()
    return where is not None and (where / f"{name}.json").exists()


def put(name: str, value: Any) -> None:
    """Keep ``value`` under ``name``, atomically (a reader sees the whole entry or none); never raises."""
    where = folder()
    if where is None:
        return
    text = json.dumps(value)
    if len(text) > MAX_ENTRY_BYTES:
        return
    try:
        where.mkdir(parents=True, exist_ok=True, mode=0o700)
        handle, temporary = tempfile.mkstemp(dir=where, prefix=f".{name}.", suffix=".tmp")
    except OSError:
        return
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, where / f"{name}.json")
    except OSError:  # a full disk: no entry, and no partial file left behind
        with contextlib.suppress(OSError):
            os.unlink(temporary)
