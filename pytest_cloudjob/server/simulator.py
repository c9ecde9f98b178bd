"""The cloud's side of the simulation worker (server/worker.py): one job at a time, each within its budget.

Jobs queue in creation order (``asyncio.Lock`` is first come, first served). A job that overruns its
budget, or is cancelled while simulating, costs the worker its life: it is killed and the next job starts
a fresh one, so no answer can be read for the wrong job. :meth:`Simulator.close` kills it at once (SIGTERM).
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from typing import Any

from pytest_cloudjob.server.limits import (
    BUDGET_EXCEEDED,
    MAX_RESULTS_BYTES,
    SIMULATION_BUDGET,
    SIMULATION_FAILED,
    WORKER_STARTUP_TIMEOUT,
)

#: What the worker is sent to import Perceval before a job whose plan is not in the physics cache.
LOAD_PERCEVAL = {"load": "perceval"}


def _needs_perceval(request: dict[str, Any]) -> bool:
    from pytest_cloudjob.server.results import needs_perceval

    return needs_perceval(request.get("payload") or {}, request.get("details") or {},
                          frozenset(request.get("defects") or ()))


class SimulationFailed(Exception):
    """A job's results could not be computed: its ``failure_code`` and a one-line ``status_message``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Simulator:
    """Runs each job's simulation in the worker process, one at a time, ``budget`` seconds each at most."""

    def __init__(self, budget: float = SIMULATION_BUDGET) -> None:
        self.budget = budget
        self.simulations = 0  # jobs sent to the worker (each job's results are computed once)
        self.busy = False
        self._lock = asyncio.Lock()
        self._process: asyncio.subprocess.Process | None = None
        self._reaping: set[asyncio.Task[int]] = set()
        self._perceval_loaded = False  # whether the running worker has imported Perceval

    async def results(self, request: dict[str, Any]) -> str:
        """The results text of one job (``payload``, ``seed``, ``job_key``, ``details``, ``defects``)."""
        async with self._lock:
            process = await self._worker()
            assert process.stdin is not None
            assert process.stdout is not None
            self.simulations += 1
            self.busy = True
            try:
                if not self._perceval_loaded and await asyncio.to_thread(_needs_perceval, request):
                    await self._load_perceval(process)
                process.stdin.write(json.dumps(request).encode() + b"\n")
                await process.stdin.drain()
                line = await asyncio.wait_for(process.stdout.readline(), self.budget)
            except TimeoutError:
                self.close()
                raise SimulationFailed(BUDGET_EXCEEDED, f"the simulation took longer than its budget of "
                                                        f"{self.budget:g} s (the reference cloud's limit per job)") from None
            except (OSError, ValueError, asyncio.LimitOverrunError) as exc:
                self.close()
                raise SimulationFailed(SIMULATION_FAILED, f"the simulation worker failed: {type(exc).__name__}") from None
            except BaseException:  # cancelled mid-simulation: the answer, if any, must not go to the next job
                self.close()
                raise
            finally:
                self.busy = False
        if not line:
            self.close()
            raise SimulationFailed(SIMULATION_FAILED, "the simulation worker ended before answering")
        answer = json.loads(line)
        if "results" not in answer:
            raise SimulationFailed(SIMULATION_FAILED, f"the simulation failed: {answer.get('error', 'no reason')}")
        return str(answer["results"])

    async def _load_perceval(self, process: asyncio.subprocess.Process) -> None:
        """Have the worker import Perceval now, outside any job's budget (3.5 s quiet, 20 s on a busy machine)."""
        assert process.stdin is not None
        assert process.stdout is not None
        process.stdin.write(json.dumps(LOAD_PERCEVAL).encode() + b"\n")
        await process.stdin.drain()
        try:
            ready = await asyncio.wait_for(process.stdout.readline(), WORKER_STARTUP_TIMEOUT)
        except TimeoutError:
            ready = b""
        if not ready:
            self.close()
            raise SimulationFailed(SIMULATION_FAILED, "the simulation worker could not load Perceval")
        self._perceval_loaded = True

    async def _worker(self) -> asyncio.subprocess.Process:
        if self._process is not None and self._process.returncode is None:
            return self._process
        self._perceval_loaded = False
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "pytest_cloudjob.server.worker", stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, stderr=None, limit=MAX_RESULTS_BYTES,
            env={**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")})
        self._process = process
        assert process.stdout is not None
        try:
            ready = await asyncio.wait_for(process.stdout.readline(), WORKER_STARTUP_TIMEOUT)
        except TimeoutError:
            ready = b""
        except BaseException:  # cancelled before its ready line was read: that line must not answer a job
            self.close()
            raise
        if not ready:
            self.close()
            raise SimulationFailed(SIMULATION_FAILED, "the simulation worker did not start")
        return process

    def close(self) -> None:
        """Kill the worker now (a job overran, or the cloud stops); the next job starts a new one."""
        process, self._process = self._process, None
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            with contextlib.suppress(RuntimeError):  # no loop running: the process is reaped at exit
                reaping = asyncio.get_running_loop().create_task(process.wait())
                self._reaping.add(reaping)
                reaping.add_done_callback(self._reaping.discard)

    async def aclose(self) -> None:
        """Kill the worker and wait until it is gone."""
        self.close()
        if self._reaping:
            await asyncio.gather(*self._reaping, return_exceptions=True)
