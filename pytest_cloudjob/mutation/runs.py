"""One mutation run: a reference cloud started with one defect (or one transient profile) and the user's
suite run against it as a real pytest process (both forked by the command's fork server), with the verdict
read from what ``probe.py`` wrote."""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pytest_cloudjob.mutation.children import Children, StoppingError
from pytest_cloudjob.mutation.forkserver import ForkServerError
from pytest_cloudjob.mutation.probe import FIRST_ENV, OUTPUT_ENV, STOP_ENV
from pytest_cloudjob.run.settings import SETTINGS, TOKEN_ENV
from pytest_cloudjob.server.defects import CATALOGUE, TRANSIENT
from pytest_cloudjob.server.process import CloudStartError, start_reference_cloud

#: Physics defects only show in clouds that simulate experiments: the reference cloud does with Perceval
#: installed (pytest-cloudjob[physics]); without it they are left out of the default catalogue, not survivors.
PHYSICS_INSTALLED = importlib.util.find_spec("perceval") is not None
#: The must-stay-green profile that is the baseline: a kill counts only when the suite is green on it.
BASELINE = "unbroken"


@dataclass(frozen=True)
class Mutant:
    """What one run starts: a defect the suite must notice, or a fault (``must_pass``) it must survive."""

    name: str
    promise: str
    server_args: tuple[str, ...]
    must_pass: bool
    baseline: bool = False  # the unbroken cloud: kills count only when every baseline run is green


@dataclass
class Failure:
    """A failing test; ``transport`` is the client's transport error (no answer: refused, reset, timed
    out) when that is what failed it, anywhere in its exception chain, else empty."""

    test: str
    text: str
    transport: str = ""


@dataclass
class Outcome:
    """The verdict of one run. ``state``: ``passed``, ``failed``, ``timeout``, ``harness-error``, or
    ``interrupted`` (stopped, or never started, because the command was interrupted). A ``failed`` defect
    run is a kill unless it is :attr:`inconclusive`."""

    mutant: Mutant
    state: str
    seconds: float
    failures: list[Failure] = field(default_factory=list)
    passed: int = 0
    skipped: int = 0
    detail: str = ""

    @property
    def inconclusive(self) -> bool:
        """A red defect run whose every failure is a transport error of the client: no answer is not a
        verdict on the defect, so it is no kill (a must-stay-green run is simply red)."""
        return (not self.mutant.must_pass and self.state == "failed" and bool(self.failures)
                and all(f.transport for f in self.failures))

    @property
    def ok(self) -> bool:
        """A defect is killed by a red run (not by transport errors alone); a fault is survived by a green one."""
        if self.mutant.must_pass:
            return self.state == "passed"
        return self.state == "failed" and not self.inconclusive


def mutants(defects: list[str] | None = None, faults: list[str] | None = None, fault_repeats: int = 1) -> list[Mutant]:
    """The fault profiles named (all by default; unbroken first), each ``fault_repeats`` times (a flaky red
    shows up in repeats), then the defects named (all by default), in catalogue order."""
    chosen = [CATALOGUE[name] for name in defects] if defects is not None else [
        d for d in CATALOGUE.values() if not d.physics or PHYSICS_INSTALLED]
    profiles = [TRANSIENT[name] for name in faults] if faults is not None else list(TRANSIENT.values())
    out = [Mutant(p.name if fault_repeats == 1 else f"{p.name}#{i + 1}", p.what, p.server_args, True,
                  baseline=p.name == BASELINE)
           for i in range(fault_repeats) for p in profiles]
    return out + [Mutant(d.name, d.promise, ("--break", d.name), False) for d in chosen]


@dataclass(frozen=True)
class RunSettings:
    paths: tuple[str, ...]
    pytest_args: tuple[str, ...] = ()
    cloud_args: tuple[str, ...] = ()
    run_timeout: float = 180.0
    cloud_timeout: float = 10.0
    first_failure_only: bool = True
    #: Per defect, the tests that killed it in an earlier run (``--first-from``): its run starts with them.
    hints: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    workdir: Path = field(default_factory=lambda: Path(tempfile.gettempdir()) / "cloudjob-mutation")


class Killers:
    """The tests that killed the latest defects, latest first (thread-safe: runs finish on several threads).

    The catalogue lists defects of one promise side by side (every authentication defect, then every
    listing defect...), so the test that killed one is the likely killer of the next: a defect run puts
    these first, and ``-x`` stops it after a test or two instead of most of the suite. Order only: every
    test still runs until one fails, so the score is the one the default order gives."""

    def __init__(self, keep: int = 12) -> None:
        self._keep = keep
        self._latest: list[str] = []
        self._lock = threading.Lock()

    def first(self) -> list[str]:
        with self._lock:
            return list(self._latest)

    def record(self, outcome: Outcome) -> None:
        if not outcome.ok or outcome.mutant.must_pass:
            return  # a red fault run, a survivor, a transport error: nothing killed
        with self._lock:
            for nodeid in reversed([f.test for f in outcome.failures if not f.transport]):
                if nodeid in self._latest:
                    self._latest.remove(nodeid)
                self._latest.insert(0, nodeid)
            del self._latest[self._keep:]


class LaneKillers:
    """A lane's own latest killers first (its catalogue neighbours' killers), then every lane's; a kill is
    recorded in both."""

    def __init__(self, own: Killers, shared: Killers) -> None:
        self._own, self._shared = own, shared

    def first(self) -> list[str]:
        own = self._own.first()
        return own + [nodeid for nodeid in self._shared.first() if nodeid not in own]

    def record(self, outcome: Outcome) -> None:
        self._own.record(outcome)
        self._shared.record(outcome)


def run_mutant(mutant: Mutant, settings: RunSettings, children: Children | None = None,
               on_start: Callable[[Mutant], None] | None = None,
               killers: Killers | LaneKillers | None = None) -> Outcome:
    """Start the cloud of ``mutant``, run the suite against it, stop the cloud; never raises.

    Every process is registered in ``children``, so that the command can stop it on SIGINT or SIGTERM;
    a run stopped that way (or asked to start after) is ``interrupted``. ``on_start`` is told when the
    suite starts (the progress line a person, or a test, waits for). A defect run puts the latest
    ``killers`` first; a must-stay-green run keeps the suite's own order.

    With ``first_failure_only``, a must-stay-green run stops at its first failure (``-x``: one is enough to
    make it red), a defect run at its first failure that is not a transport error (the probe's stop rule,
    ``STOP_ENV``): a time-out of the client ends no run before the test that would have killed the defect."""
    children = children if children is not None else Children()
    started = time.monotonic()
    if children.stopping.is_set():
        return Outcome(mutant, "interrupted", 0.0, detail="not started: the command was interrupted")
    folder = Path(tempfile.mkdtemp(prefix=f"{mutant.name}-", dir=_ensure(settings.workdir)))
    try:
        cloud = start_reference_cloud(folder / "cloud.log", [*settings.cloud_args, *mutant.server_args],
                                      spawn=children.spawn)
    except StoppingError:
        return Outcome(mutant, "interrupted", 0.0, detail="not started: the command was interrupted")
    except (CloudStartError, ForkServerError) as exc:
        return Outcome(mutant, "harness-error", time.monotonic() - started, detail=str(exc))
    try:  # the cloud is registered in children since it was forked
        probe = folder / "outcomes.jsonl"
        env = {**os.environ, SETTINGS["url"].env: cloud.url, OUTPUT_ENV: str(probe),
               **{env: cloud.tokens[account] for account, env in TOKEN_ENV.items()}}
        env.pop(FIRST_ENV, None)
        env.pop(STOP_ENV, None)
        if not mutant.must_pass:
            first = [*settings.hints.get(mutant.name, ()), *(killers.first() if killers is not None else ())]
            if first:
                env[FIRST_ENV] = json.dumps(list(dict.fromkeys(first)))
        stop = []
        if settings.first_failure_only:
            if mutant.must_pass:
                stop = ["-x"]
            else:
                env[STOP_ENV] = "1"
        command = ["pytest", "-p", "no:cacheprovider", "-p", "pytest_cloudjob.mutation.probe",
                   # the fork server imported the plugins before pytest could mark them for rewriting
                   "-W", "ignore::pytest.PytestAssertRewriteWarning",
                   "-q", "--no-header", "--cloud-timeout", f"{settings.cloud_timeout:g}", *stop, *settings.pytest_args,
                   # last, so that no --cloud-url of the user's arguments or addopts sends the run elsewhere
                   "--cloud-url", cloud.url, *settings.paths]
        output_path = folder / "pytest.out"
        try:
            proc = children.spawn_group(command, env, output_path)
        except StoppingError:
            return Outcome(mutant, "interrupted", 0.0, detail="not started: the command was interrupted")
        except ForkServerError as exc:
            return Outcome(mutant, "harness-error", time.monotonic() - started, detail=str(exc))
        try:
            if on_start is not None:
                on_start(mutant)
            try:
                returncode = proc.wait(timeout=settings.run_timeout)
            except subprocess.TimeoutExpired:
                children.kill(proc)  # its whole process group: nothing the suite started is left running
                return Outcome(mutant, "timeout", time.monotonic() - started,
                               detail=f"the suite did not finish within {settings.run_timeout:g}s")
        finally:
            children.discard(proc)
        if children.stopping.is_set():
            return Outcome(mutant, "interrupted", time.monotonic() - started,
                           detail="stopped: the command was interrupted")
        outcome = _read_probe(mutant, probe, returncode, time.monotonic() - started)
        if outcome.state == "harness-error":  # only then is the run's output read back, its end shown
            output = output_path.read_bytes() if output_path.exists() else b""
            outcome.detail = f"pytest exited {returncode}: " + output.decode(errors="replace")[-600:]
        if killers is not None:
            killers.record(outcome)
        return outcome
    finally:
        cloud.stop(timeout=1.0 if children.stopping.is_set() else 10.0)
        children.discard(cloud.process)


def _read_probe(mutant: Mutant, probe: Path, returncode: int, seconds: float) -> Outcome:
    """The run's verdict from the probe's records. Exit status 2 (interrupted) with failing tests recorded
    is a run stopped at a failure under xdist (its controller stops ``-x`` and the probe's stop rule so);
    without, it is a collection error or the like: a harness error, as any other status but 0 and 1."""
    lines = probe.read_text(encoding="utf-8").splitlines() if probe.exists() else []
    records = [json.loads(line) for line in lines]
    stopped_at_failure = returncode == 2 and any(r["outcome"] == "failed" for r in records)
    if returncode not in (0, 1) and not stopped_at_failure:
        return Outcome(mutant, "harness-error", seconds)
    outcome = Outcome(mutant, "passed", seconds)
    for record in records:
        if record["outcome"] == "failed":
            outcome.failures.append(Failure(record["nodeid"], record["text"], record.get("transport") or ""))
        elif record["outcome"] == "skipped":
            outcome.skipped += 1
        elif record["when"] == "call":
            outcome.passed += 1
    if outcome.failures or returncode != 0:
        outcome.state = "failed"
    return outcome


def _ensure(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return folder
