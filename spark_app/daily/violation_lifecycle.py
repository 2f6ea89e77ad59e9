"""The lifecycle of a violation: open -> acknowledged -> resolved (open ->
resolved too: a false positive needs no acknowledgement). Each step records who,
when and a note; resolving records a resolution. A violation without a row in
violation_states is open, so the daily job's inserts, reruns and backfills never
reset a state. A command over several ids changes all of them or none."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError

from schemas.relational import RESOLUTIONS, Violation, ViolationState


class TransitionError(ValueError):
    """Some of the ids cannot take the step; nothing was changed."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems))


@dataclass(frozen=True)
class Step:
    at: datetime
    by: str
    note: str | None = None


def acknowledge(engine: Engine, ids: Sequence[int], step: Step) -> None:
    _transition(engine, ids, step, target="acknowledged", resolution=None)


def resolve(engine: Engine, ids: Sequence[int], step: Step, resolution: str) -> None:
    if resolution not in RESOLUTIONS:
        raise TransitionError([f"resolution must be one of {', '.join(RESOLUTIONS)}, "
                               f"got {resolution!r}"])
    _transition(engine, ids, step, target="resolved", resolution=resolution)


# From which state each step may be taken.
_ALLOWED_FROM = {"acknowledged": ("open",), "resolved": ("open", "acknowledged")}


def _transition(engine: Engine, ids: Sequence[int], step: Step, *, target: str,
                resolution: str | None) -> None:
    ids = list(dict.fromkeys(ids))
    at = step.at.astimezone(UTC).replace(tzinfo=None) if step.at.tzinfo else step.at
    states = ViolationState.__table__
    with engine.begin() as connection:
        known = set(connection.execute(select(Violation.id).where(Violation.id.in_(ids)))
                    .scalars())
        current = dict(connection.execute(
            select(states.c.violation_id, states.c.state)
            .where(states.c.violation_id.in_(ids)).with_for_update()).all())
        problems = []
        for violation_id in ids:
            state = current.get(violation_id, "open")
            if violation_id not in known:
                problems.append(f"no violation with id {violation_id}")
            elif state not in _ALLOWED_FROM[target]:
                problems.append(f"violation {violation_id} is {state}, cannot be {target}")
        if problems:
            raise TransitionError(problems)
        if target == "acknowledged":
            values = {"state": target, "acknowledged_at": at, "acknowledged_by": step.by,
                      "acknowledged_note": step.note}
        else:
            values = {"state": target, "resolved_at": at, "resolved_by": step.by,
                      "resolved_note": step.note, "resolution": resolution}
        fresh = [violation_id for violation_id in ids if violation_id not in current]
        if fresh:
            try:
                connection.execute(states.insert(), [{"violation_id": violation_id, **values}
                                                     for violation_id in fresh])
            except IntegrityError:  # someone stepped one of them since the read
                raise TransitionError([f"a violation of {fresh} changed state meanwhile; "
                                       "nothing changed, try again"]) from None
        stepped = [violation_id for violation_id in ids if violation_id in current]
        if stepped:
            # The state checked above, checked again in the write: of two people
            # resolving the same violation at once, one gets the error.
            result = connection.execute(
                states.update().where(states.c.violation_id.in_(stepped),
                                      states.c.state.in_(_ALLOWED_FROM[target])).values(values))
            if result.rowcount != len(stepped):
                raise TransitionError([f"a violation of {stepped} changed state meanwhile; "
                                       "nothing changed, try again"])
