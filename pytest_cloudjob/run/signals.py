"""SIGTERM ends a run the way Ctrl-C does.

CI runners cancel a job with SIGTERM (then SIGKILL after a grace period). Python's default is to die at
once: no leak sweep, no summary, xdist workers and the embedded cloud left behind as orphans. Raised as
``KeyboardInterrupt`` in the main thread instead, it takes pytest's own interrupted path: the session
finishes (sweep, summary), xdist tears its workers down, the run stops its cloud, exit code 2.
"""
from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from types import FrameType


def _nothing() -> None:
    pass


def sigterm_as_interrupt() -> Callable[[], None]:
    """Install the handler (main thread only, and only if nobody else handles SIGTERM); returns the undo.

    Only the first SIGTERM interrupts: a second one while the clean-up runs is ignored, so the sweep
    finishes within its own deadline (SIGINT still interrupts it).
    """
    if threading.current_thread() is not threading.main_thread():
        return _nothing
    previous = signal.getsignal(signal.SIGTERM)
    if previous is not signal.SIG_DFL:
        return _nothing
    received: list[int] = []

    def handler(signum: int, frame: FrameType | None) -> None:
        if received:
            return
        received.append(signum)
        raise KeyboardInterrupt("SIGTERM received: ending the run as on Ctrl-C")

    signal.signal(signal.SIGTERM, handler)

    def undo() -> None:
        if signal.getsignal(signal.SIGTERM) is handler:
            signal.signal(signal.SIGTERM, previous)

    return undo
