"""Running ``python -m pytest_cloudjob.load`` as a user would, and reading what Locust wrote."""
from __future__ import annotations

import csv
import os
import socket
import subprocess
import sys
from pathlib import Path

from pytest_cloudjob.run.settings import TOKEN_ENV
from pytest_cloudjob.server.process import RunningCloud

SHIPPED = Path(__file__).parents[2] / "scenarios"
#: Far above what a run of a few seconds takes to start, run, sweep and stop: only a hang reaches it.
RUN_TIMEOUT = 180


def load_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "pytest_cloudjob.load", str(SHIPPED), *args]


def env_for(cloud: RunningCloud | None = None) -> dict[str, str]:
    """The environment of a load run: the embedded cloud (no URL), or ``cloud`` by URL and tokens."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDJOB_")}
    if cloud is not None:
        env["CLOUDJOB_URL"] = cloud.url
        env.update({variable: cloud.tokens[account] for account, variable in TOKEN_ENV.items()})
    return env


def run(command: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=RUN_TIMEOUT,
                          stdin=subprocess.DEVNULL, check=False)


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def aggregated(prefix: Path) -> dict[str, str]:
    """The ``Aggregated`` row of Locust's ``<prefix>_stats.csv``."""
    return next(row for row in rows(Path(f"{prefix}_stats.csv")) if row["Name"] == "Aggregated")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
