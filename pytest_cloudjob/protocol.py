"""The wire protocol's vocabulary, shared by the client, the scenarios and the reference cloud.

Kept apart from all of them so the reference cloud never imports the client while they still agree
on one list of statuses, one state machine and one set of listing filters (docs/protocol.md).
"""
from __future__ import annotations

WAITING = "waiting"
RUNNING = "running"
COMPLETED = "completed"
ERROR = "error"
CANCELED = "canceled"
CANCEL_REQUESTED = "cancel_requested"
SUSPENDED = "suspended"

ALL_STATUSES: frozenset[str] = frozenset(
    {WAITING, RUNNING, COMPLETED, ERROR, CANCELED, CANCEL_REQUESTED, SUSPENDED}
)
TERMINAL_STATUSES: frozenset[str] = frozenset({COMPLETED, ERROR, CANCELED})
ACTIVE_STATUSES: frozenset[str] = ALL_STATUSES - TERMINAL_STATUSES

#: The query filters of the admin listing (``GET /api/admin/jobs``), each matching one record field.
LIST_FILTERS: tuple[str, ...] = ("status", "platform_name", "process_id", "owner")

#: Legal direct transitions. Polling can skip intermediate states, so observers use
#: :func:`is_reachable` rather than this table directly.
TRANSITIONS: dict[str, frozenset[str]] = {
    WAITING: frozenset({RUNNING, CANCELED, ERROR}),
    RUNNING: frozenset({COMPLETED, ERROR, CANCEL_REQUESTED, SUSPENDED}),
    SUSPENDED: frozenset({RUNNING}),
    CANCEL_REQUESTED: frozenset({CANCELED}),
    COMPLETED: frozenset(),
    ERROR: frozenset(),
    CANCELED: frozenset(),
}


def _reachable_from(status: str) -> frozenset[str]:
    seen: set[str] = set()
    todo = [status]
    while todo:
        for nxt in TRANSITIONS.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return frozenset(seen)


_REACHABLE: dict[str, frozenset[str]] = {s: _reachable_from(s) for s in TRANSITIONS}


def is_reachable(previous: str, current: str) -> bool:
    """Whether a poller that saw ``previous`` may legally see ``current`` next.

    Seeing the same status again is always legal; otherwise ``current`` must be reachable through
    the graph, because a poll can miss the states in between (``waiting`` then ``completed``).
    """
    if previous == current:
        return previous in TRANSITIONS
    return current in _REACHABLE.get(previous, frozenset())
