"""The batch state machine, apart from any storage: which status may follow which.

validating -> in_progress -> finalizing -> completed, plus failed, cancelling -> cancelled,
and expired when the completion window passes. Final statuses never change again.
"""
from __future__ import annotations

from tianshu_grpc_server.errors import FailedPrecondition

VALIDATING = "validating"
IN_PROGRESS = "in_progress"
FINALIZING = "finalizing"
COMPLETED = "completed"
FAILED = "failed"
CANCELLING = "cancelling"
CANCELLED = "cancelled"
EXPIRED = "expired"

ALL = (VALIDATING, IN_PROGRESS, FINALIZING, COMPLETED, FAILED, CANCELLING, CANCELLED, EXPIRED)
FINAL = frozenset({COMPLETED, FAILED, CANCELLED, EXPIRED})
# Statuses in which a queued line may still start.
RUNNABLE = frozenset({VALIDATING, IN_PROGRESS})
# Statuses the completion window applies to.
EXPIRABLE = frozenset({VALIDATING, IN_PROGRESS, CANCELLING})

_ALLOWED: dict[str, frozenset[str]] = {
    VALIDATING: frozenset({IN_PROGRESS, FAILED, EXPIRED}),
    IN_PROGRESS: frozenset({FINALIZING, CANCELLING, EXPIRED, FAILED}),
    FINALIZING: frozenset({COMPLETED, FAILED}),
    CANCELLING: frozenset({CANCELLED, EXPIRED}),
}


class IllegalTransition(FailedPrecondition):
    def __init__(self, batch_id: str, current: str, target: str):
        super().__init__("BATCH_STATUS", batch_id, f"batch {batch_id} is {current}; it cannot become {target}")
        self.current, self.target = current, target


def allowed(current: str, target: str) -> bool:
    return target in _ALLOWED.get(current, frozenset())


def check(batch_id: str, current: str, target: str) -> None:
    """Raises IllegalTransition unless `target` may follow `current`."""
    if current not in ALL or target not in ALL:
        raise ValueError(f"unknown batch status: {current!r} -> {target!r}")
    if not allowed(current, target):
        raise IllegalTransition(batch_id, current, target)


_SETTLE = {IN_PROGRESS: (FINALIZING, COMPLETED), CANCELLING: (CANCELLED,)}


def settled(current: str) -> tuple[str, ...]:
    """Where a batch goes once none of its lines is pending: the path to its final status.
    A validating batch waits until its lines are queued (the creation then settles it)."""
    return _SETTLE.get(current, ())
