"""The Allure results folder: refused in one line before the run when it cannot be written, and writes it
refuses later (a full disk, a folder remounted read-only) counted instead of raised.

allure-pytest lets an ``OSError`` of its file writer escape into pytest's hooks: an INTERNALERROR that ends
the run before the leak sweep's verdict and the summary are printed, or a red test that the cloud did not
cause. The report is secondary to the run: a lost file is a warning and a non-zero exit, never a crash.
"""
from __future__ import annotations

import errno
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_cloudjob.errors import CloudJobError


class AllureFolderError(CloudJobError):
    """The ``--alluredir`` folder cannot be created or written."""


def _reason(exc: OSError) -> str:
    """``No space left on device (ENOSPC)``: the text a person reads and the name they search for."""
    name = errno.errorcode.get(exc.errno or 0, "")
    text = exc.strerror or str(exc)
    return f"{text} ({name})" if name else text


def check_writable(folder: Path) -> None:
    """Create ``folder`` if needed and write (then remove) a probe file in it, as allure will; raise
    :class:`AllureFolderError` naming the folder and the reason otherwise."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        descriptor, probe = tempfile.mkstemp(prefix=".cloudjob-probe-", dir=folder)
        try:
            os.write(descriptor, b"probe")
        finally:
            os.close(descriptor)
            os.unlink(probe)
    except OSError as exc:
        raise AllureFolderError(f"--alluredir {folder}: cannot write Allure results there: "
                                f"{_why(folder, exc)}") from None


def _why(folder: Path, exc: OSError) -> str:
    """The reason in a person's words: which path is a file, or which folder refused and how."""
    existing = next((path for path in (folder, *folder.parents) if path.exists()), None)
    if existing is not None and not existing.is_dir():
        return f"{existing} is a file, not a folder"
    where = Path(exc.filename) if isinstance(exc.filename, str) else None
    if where is not None and where != folder and where.parent != folder:  # a parent we could not create
        return f"{_reason(exc)} creating {where}"
    return _reason(exc)


@dataclass
class LostWrites:
    """The Allure files the disk refused during the run: how many and the first reason."""

    folder: Path
    count: int = 0
    reason: str = ""

    def record(self, exc: OSError) -> None:
        self.count += 1
        if not self.reason:
            self.reason = _reason(exc)

    def to_data(self) -> dict[str, Any]:
        """What an xdist worker hands its controller."""
        return {"count": self.count, "reason": self.reason}

    def merge(self, data: dict[str, Any]) -> None:
        self.count += int(data.get("count", 0))
        if not self.reason:
            self.reason = str(data.get("reason", ""))

    def warning(self) -> str | None:
        """The one line the run prints, or ``None`` when every file was written."""
        if not self.count:
            return None
        return (f"cloudjob: Allure results are incomplete: {self.count} file(s) could not be written to "
                f"{self.folder}: {self.reason}; the run fails (exit 1) so that a partial report is not "
                f"taken for a whole one")
