"""The temperature alert state machine: pure Python, no Spark, no I/O.

Per equipment, windows are evaluated in event-time order against its threshold:

    normal   --avg > threshold-->                        pending    (no e-mail yet)
    pending  --avg > threshold for the hold time-->      alerting   (ALERT e-mail)
    pending  --avg <= threshold-->                       normal
    alerting --avg > threshold, reminder interval gone-> alerting   (REMINDER e-mail)
    alerting --avg < threshold - hysteresis-->           normal     (RECOVERY e-mail)

(With no hold time, like Prometheus' `for: 0`, pending turns alerting at once.)
Anything else changes nothing and sends nothing. Each alerting spell is a
breach episode (start, end, peak average, e-mails sent). A notice a silence
covers (at its window's end) is still issued and counted in the state, marked
silenced: the caller withholds its e-mail, the episode records it. Time is event time (window
ends), never the wall clock, so replaying the same windows from the same state
gives the same notices with the same message ids: a replayed micro-batch after
a crash cannot send anything twice. A window that ends before the last window
evaluated for the equipment is stale (a late reading updated an old window)
and is skipped: the state only moves forward in event time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum


class Kind(StrEnum):
    ALERT = "alert"
    REMINDER = "reminder"
    RECOVERY = "recovery"


@dataclass(frozen=True)
class WindowStat:
    """One equipment's aggregate over one event-time window."""
    equipment_id: str
    window_start: datetime
    window_end: datetime
    model: str | None
    avg_c: float
    max_c: float
    readings: int


@dataclass(frozen=True)
class AlertState:
    equipment_id: str
    alerting: bool = False
    model: str | None = None
    threshold_c: float | None = None
    breach_started: datetime | None = None   # end of the window that crossed
    last_notified: datetime | None = None    # end of the window of the last alert or reminder
    last_window_end: datetime | None = None  # the newest window evaluated
    last_avg_c: float | None = None
    notices: int = 0                         # notices ever issued: makes message ids unique
    pending_since: datetime | None = None    # end of the first window above, not yet held
    breach_peak_c: float | None = None       # the episode's (or pending spell's) peak average
    breach_emails: int = 0                   # e-mails of the episode not withheld by a silence
    breach_silenced: bool = False            # a silence withheld one of the episode's e-mails


@dataclass(frozen=True)
class AlertPolicy:
    hysteresis_c: float
    reminder: timedelta | None  # None: no reminders
    hold: timedelta = timedelta(0)  # how long the average stays above before the alert

    def __post_init__(self):
        if self.hysteresis_c < 0:
            raise ValueError("hysteresis must not be negative")
        if self.hold < timedelta(0):
            raise ValueError("the hold time must not be negative")


@dataclass(frozen=True)
class Thresholds:
    """Per equipment, else per model, else the default."""
    default_c: float
    by_model: Mapping[str, float] = field(default_factory=dict)
    by_equipment: Mapping[str, float] = field(default_factory=dict)

    def for_equipment(self, equipment_id: str, model: str | None) -> float:
        if equipment_id in self.by_equipment:
            return self.by_equipment[equipment_id]
        if model is not None and model in self.by_model:
            return self.by_model[model]
        return self.default_c


@dataclass(frozen=True)
class Notice:
    """An e-mail to send: what happened, on which window, against which threshold."""
    kind: Kind
    window: WindowStat
    model: str | None
    threshold_c: float
    hysteresis_c: float
    breach_started: datetime
    sequence: int  # the equipment's notice count after this one
    silenced: bool = False  # a silence covers it: counted, not e-mailed

    @property
    def equipment_id(self) -> str:
        return self.window.equipment_id

    @property
    def message_id(self) -> str:
        """Deterministic: the same notice recomputed on a replay has the same id."""
        key = "|".join((self.equipment_id, self.window.window_end.isoformat(),
                        self.kind.value, str(self.sequence)))
        return hashlib.sha256(key.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Episode:
    """One breach as it stands after a batch (ended_at None: still going); the
    same (equipment_id, started_at) is rewritten as it goes on."""
    equipment_id: str
    model: str | None
    threshold_c: float
    started_at: datetime
    ended_at: datetime | None
    peak_average_c: float
    emails_sent: int
    silenced: bool


@dataclass(frozen=True)
class Evaluation:
    states: dict[str, AlertState]  # only the equipment whose state changed
    notices: list[Notice]
    stale_windows: int             # windows older than the newest evaluated: skipped
    episodes: list[Episode] = field(default_factory=list)  # those the batch moved


def step(state: AlertState, window: WindowStat, threshold_c: float, policy: AlertPolicy,
         silenced: bool = False) -> tuple[AlertState, Notice | None]:
    """The state after one window, and the notice it causes, if any."""
    model = window.model or state.model
    moved = replace(state, model=model, last_window_end=window.window_end,
                    last_avg_c=window.avg_c, threshold_c=threshold_c)
    above = window.avg_c > threshold_c
    peak = max(window.avg_c, state.breach_peak_c) if state.breach_peak_c is not None \
        else window.avg_c

    if not state.alerting:
        if not above:
            return replace(moved, pending_since=None, breach_peak_c=None), None
        since = state.pending_since or window.window_end
        moved = replace(moved, pending_since=since, breach_peak_c=peak)
        if window.window_end - since < policy.hold:
            return moved, None
        return _notify(replace(moved, breach_emails=0, breach_silenced=False), Kind.ALERT,
                       window, threshold_c, policy, breach_started=since, alerting=True,
                       silenced=silenced)

    if window.avg_c < threshold_c - policy.hysteresis_c:
        return _notify(moved, Kind.RECOVERY, window, threshold_c, policy,
                       breach_started=state.breach_started, alerting=False, silenced=silenced)
    moved = replace(moved, breach_peak_c=peak)
    if above and _reminder_due(state, window, policy):
        return _notify(moved, Kind.REMINDER, window, threshold_c, policy,
                       breach_started=state.breach_started, alerting=True, silenced=silenced)
    return moved, None


def _reminder_due(state: AlertState, window: WindowStat, policy: AlertPolicy) -> bool:
    return (policy.reminder is not None and state.last_notified is not None
            and window.window_end - state.last_notified >= policy.reminder)


def _notify(state: AlertState, kind: Kind, window: WindowStat, threshold_c: float,
            policy: AlertPolicy, breach_started: datetime, alerting: bool, silenced: bool):
    sequence = state.notices + 1
    notice = Notice(kind, window, state.model, threshold_c, policy.hysteresis_c,
                    breach_started, sequence, silenced)
    emails = state.breach_emails + (0 if silenced else 1)
    episode = dict(breach_emails=emails, breach_silenced=state.breach_silenced or silenced)
    after = replace(
        state, alerting=alerting, notices=sequence,
        breach_started=breach_started if alerting else None,
        last_notified=window.window_end if alerting else None,
        pending_since=None, **episode)
    return after, notice


def episode_of(before: AlertState, after: AlertState, window_end: datetime) -> Episode | None:
    """The episode a step moved: open while alerting, ended by a recovery."""
    if after.alerting:
        started, ended = after.breach_started, None
    elif before.alerting:
        started, ended = before.breach_started, window_end
    else:
        return None
    return Episode(after.equipment_id, after.model, after.threshold_c, started, ended,
                   after.breach_peak_c if after.breach_peak_c is not None else after.last_avg_c,
                   after.breach_emails, after.breach_silenced)


def never_silenced(_equipment_id: str, _model: str | None, _at: datetime) -> bool:
    return False


def evaluate(states: Mapping[str, AlertState], windows: Iterable[WindowStat],
             thresholds: Thresholds, policy: AlertPolicy,
             silenced: Callable[[str, str | None, datetime], bool] = never_silenced
             ) -> Evaluation:
    """Runs every equipment's windows through `step`, oldest window first.
    `states` holds the known states; an equipment missing from it starts normal.
    `silenced(equipment, model, at)`: whether a silence covers that instant."""
    current: dict[str, AlertState] = {}
    notices: list[Notice] = []
    episodes: dict[tuple[str, datetime], Episode] = {}
    stale = 0
    ordered = sorted(windows, key=lambda w: (w.equipment_id, w.window_end, w.window_start))
    for window in ordered:
        equipment = window.equipment_id
        state = current.get(equipment) or states.get(equipment) or AlertState(equipment)
        if state.last_window_end is not None and window.window_end < state.last_window_end:
            stale += 1
            continue
        model = window.model or state.model
        threshold = thresholds.for_equipment(equipment, model)
        before = state
        state, notice = step(state, window, threshold, policy,
                             silenced(equipment, model, window.window_end))
        current[equipment] = state
        if notice is not None:
            notices.append(notice)
        episode = episode_of(before, state, window.window_end)
        if episode is not None and state != before:
            episodes[(equipment, episode.started_at)] = episode
    changed = {equipment: state for equipment, state in current.items()
               if state != states.get(equipment)}
    notices.sort(key=lambda n: (n.window.window_end, n.equipment_id, n.sequence))
    return Evaluation(changed, notices, stale, list(episodes.values()))
