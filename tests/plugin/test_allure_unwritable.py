"""An Allure folder the run cannot write: refused in one line before any job when it is unwritable at the
start; a disk that refuses writes mid-run (full, remounted read-only, permissions changed) costs the report,
never the run: the summary and the leak verdict still print, one line says what is missing, exit 1."""
from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

ONE_JOB = """
def test_a_job_completes(cloud_job_factory, cloud_context, cloud_user):
    job = cloud_job_factory.create()
    job.wait_until(cloud_context, cloud_user, "completed", timeout=30)
"""

#: A disk that takes the first AFTER files of the results folder and refuses every later write with ERRNO,
#: whatever writes them (allure's logger, ours, ``shutil.copy2``): ``open`` for writing is where a full disk,
#: a read-only remount and a lost permission all show first.
DISK_REFUSES = """
import builtins, io, os

ERRNO, AFTER = {errno}, {after}
_real_open = io.open
_written = []
FOLDER = []

def _open(file, mode="r", *args, **kwargs):
    if FOLDER and isinstance(file, (str, os.PathLike)) and any(flag in mode for flag in "wax+"):
        target = os.path.abspath(os.fspath(file))
        if target.startswith(FOLDER[0] + os.sep):
            _written.append(target)
            if len(_written) > AFTER:
                raise OSError(ERRNO, os.strerror(ERRNO), target)
    return _real_open(file, mode, *args, **kwargs)

def pytest_configure(config):
    FOLDER.append(os.path.abspath(config.option.allure_report_dir))
    builtins.open = io.open = _open
"""


def assert_refused_at_start(result: pytest.RunResult, folder: Path, reason: str) -> None:
    err = result.stderr.str()
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.stdout.str() + err
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines == [f"ERROR: --alluredir {folder}: cannot write Allure results there: {reason}"], err
    assert "INTERNALERROR" not in result.stdout.str() + err and "Traceback" not in err
    assert "run id:" not in result.stdout.str(), "no cloud may start, no job be made"


def test_a_folder_that_is_a_file_or_under_a_file_stops_the_run_in_one_line(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_one=ONE_JOB)
    blocker = pytester.path / "not-a-folder"
    blocker.write_text("a file where the folder should be")
    for folder in (blocker, blocker / "allure-results", blocker / "missing" / "allure-results"):
        result = pytester.runpytest("--alluredir", str(folder))
        assert_refused_at_start(result, folder, f"{blocker} is a file, not a folder")


@pytest.fixture
def read_only_folder(tmp_path: Path) -> Iterator[Path]:
    """A folder nobody may write to: mode 0555, and for root (which ignores modes) the immutable flag."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    immutable = os.geteuid() == 0 and subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode == 0
    if os.access(folder, os.W_OK) and not immutable:
        pytest.skip("this user can write to a 0555 folder and chattr +i is not available")
    yield folder
    if immutable:
        subprocess.run(["chattr", "-i", str(folder)], check=True)
    folder.chmod(0o755)


def test_a_read_only_folder_or_parent_stops_the_run_in_one_line(pytester: pytest.Pytester,
                                                                read_only_folder: Path) -> None:
    pytester.makepyfile(test_one=ONE_JOB)
    result = pytester.runpytest("--alluredir", str(read_only_folder))
    refused = "Operation not permitted (EPERM)" if os.geteuid() == 0 else "Permission denied (EACCES)"
    assert_refused_at_start(result, read_only_folder, refused)
    missing = read_only_folder / "missing" / "allure-results"
    result = pytester.runpytest("--alluredir", str(missing))
    assert_refused_at_start(result, missing, f"{refused} creating {read_only_folder / 'missing'}")


@pytest.mark.parametrize(("code", "xdist"), [(errno.ENOSPC, []), (errno.EROFS, []), (errno.EACCES, []),
                                             (errno.ENOSPC, ["-n", "2"])],
                         ids=["ENOSPC", "EROFS", "EACCES", "ENOSPC-xdist"])
def test_a_disk_that_refuses_writes_mid_run_costs_the_report_not_the_run(pytester: pytest.Pytester,
                                                                         code: int, xdist: list[str]) -> None:
    pytester.makeconftest(DISK_REFUSES.format(errno=code, after=3))  # under xdist: 3 files per process
    pytester.makepyfile(test_jobs=ONE_JOB + ONE_JOB.replace("test_a_job", "test_another_job")
                        + ONE_JOB.replace("test_a_job", "test_a_third_job"))
    result = pytester.runpytest_subprocess("--alluredir", "allure-results", "-p", "no:randomly", *xdist)
    out, err = result.stdout.str(), result.stderr.str()
    assert "INTERNALERROR" not in out + err and "Traceback" not in out + err, out + err
    result.assert_outcomes(passed=3)  # the report's trouble never turns a test red
    assert "run id: run-" in out and "sim:qa" in out, out  # the run's summary
    assert "leak sweep: 3 job(s) of this run listed, 0 leaked" in out, out  # the leak verdict
    warnings = [line for line in out.splitlines() if "Allure results are incomplete" in line]
    assert len(warnings) == 1, out
    assert f"{pytester.path / 'allure-results'}: {os.strerror(code)} ({errno.errorcode[code]})" in warnings[0]
    assert result.ret == pytest.ExitCode.TESTS_FAILED, "a partial report must not pass for a whole one"
    assert not list((pytester.path / "allure-results").glob("*.tmp")), "no half-written file is left"
