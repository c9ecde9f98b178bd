"""Runs the plan a few at a time, and stops it all within seconds on SIGINT or SIGTERM.

The runs go on daemon threads and the main thread only waits, a fraction of a second at a time, so a
signal is acted on at once: every child is stopped (``Children.stop_all``), no new run starts, and what
finished is returned with the signal, for a partial table. The threads are daemons so that a run stuck
where no signal reaches it (a cloud still starting) cannot keep the command alive: its cloud goes when
the command does (``--exit-with-parent``).
"""
from __future__ import annotations

import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType

from pytest_cloudjob.mutation.children import GRACE_SECONDS, Children
from pytest_cloudjob.mutation.report import verdict
from pytest_cloudjob.mutation.runs import Killers, LaneKillers, Mutant, Outcome, RunSettings, run_mutant

#: After the children are stopped, how long the runs' threads get to record them (and stop their clouds).
WIND_DOWN_SECONDS = 2.0


@dataclass
class PlanResult:
    """What finished, in plan order; and, when a signal stopped the plan, which one and what it cut short."""

    outcomes: list[Outcome]
    signum: int | None = None
    stopped: list[Mutant] = field(default_factory=list)
    not_started: list[Mutant] = field(default_factory=list)

    @property
    def signal_name(self) -> str | None:
        return None if self.signum is None else signal.Signals(self.signum).name


@contextmanager
def signals_recorded() -> Iterator[list[int]]:
    """SIGINT and SIGTERM recorded (the first one counts) instead of raised; the handlers are put back after."""
    received: list[int] = []

    def handler(signum: int, frame: FrameType | None) -> None:
        if not received:
            received.append(signum)

    previous = {signum: signal.signal(signum, handler) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield received
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


def lanes(plan: list[Mutant], workers: int) -> list[deque[int]]:
    """The indexes of ``plan`` in ``workers`` lanes, one per worker, run front to back: the must-stay-green runs
    first (each runs the whole suite), dealt round the lanes, then the defects, each lane a block of the catalogue.

    Defects of one promise sit side by side in the catalogue and are killed by the same test (``Killers``). Taken
    from one queue in catalogue order, neighbours started side by side, none knowing the others' killer, and each
    ran most of the suite before its first failure; in a lane a defect starts after its catalogue neighbour has
    finished, with that neighbour's killer first. A worker whose lane is empty takes the last run of the longest
    lane. Order only: the table keeps the plan's order."""
    count = max(1, workers)
    out: list[deque[int]] = [deque() for _ in range(count)]
    green = [i for i, mutant in enumerate(plan) if mutant.must_pass]
    defects = [i for i, mutant in enumerate(plan) if not mutant.must_pass]
    for k, index in enumerate(green):
        out[k % count].append(index)
    size = -(-len(defects) // count)
    for k in range(count):
        out[k].extend(defects[k * size:(k + 1) * size])
    return out


def _next_run(own: deque[int], every: list[deque[int]]) -> int | None:
    """The front of ``own``, or else the back of the longest lane (its last run, far from what that lane runs next)."""
    if own:
        return own.popleft()
    longest = max(every, key=len)
    return longest.pop() if longest else None


def run_plan(plan: list[Mutant], settings: RunSettings, workers: int, children: Children,
             received: list[int], progress: Callable[[str], None] | None = None,
             on_outcome: Callable[[list[Outcome]], None] | None = None) -> PlanResult:
    """Run every mutant of ``plan``, ``workers`` at a time, until done or until ``received`` gets a signal.

    Each finished run is told to ``progress`` in the table's words (``killed``, ``SURVIVED``, ``green``...),
    and ``on_outcome`` gets every outcome finished so far, in plan order, one call at a time (the partial
    JSON is written there)."""
    say = progress or (lambda line: print(line, file=sys.stderr, flush=True))
    todo = lanes(plan, workers)
    done: dict[int, Outcome] = {}
    started: set[int] = set()
    lock = threading.Lock()
    closed: list[bool] = []  # set once the result is taken: a late run changes neither it nor the JSON after
    shared = Killers()

    def work(lane: int) -> None:
        killers = LaneKillers(Killers(), shared)
        while not children.stopping.is_set():
            with lock:
                index = _next_run(todo[lane], todo)
                if index is None:
                    return
                started.add(index)
            mutant = plan[index]
            outcome = run_mutant(mutant, settings, children, on_start=lambda m: say(f"  {m.name}: started"),
                                 killers=killers)
            if outcome.state == "interrupted":
                return
            with lock:
                if closed:
                    return
                done[index] = outcome
                if on_outcome is not None:
                    on_outcome([done[i] for i in sorted(done)])
            say(f"  {mutant.name}: {verdict(outcome)} ({outcome.seconds:.1f}s)")

    threads = [threading.Thread(target=work, args=(i % len(todo),), name=f"mutation-run-{i}", daemon=True)
               for i in range(workers)]
    for thread in threads:
        thread.start()
    while any(thread.is_alive() for thread in threads) and not received:
        for thread in threads:
            thread.join(0.1)
    if not received:
        return PlanResult([done[i] for i in sorted(done)])
    children.stop_all(GRACE_SECONDS)
    deadline = time.monotonic() + WIND_DOWN_SECONDS
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    with lock:
        closed.append(True)
        finished = dict(done)
        begun = set(started)
    return PlanResult([finished[i] for i in sorted(finished)], received[0],
                      stopped=[m for i, m in enumerate(plan) if i in begun and i not in finished],
                      not_started=[m for i, m in enumerate(plan) if i not in begun])
