"""Data for the daily job's tests: rules of every shape, seeded faults with
late arrivals, and the expected violations from the brute-force oracle."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from rules.parser import parse_rule
from schemas.faults import Fault
from schemas.relational import Violation
from spark_app.ingest.faults import FaultWriter
from tests.support import oracle

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
FIRST_DAY = date(2016, 11, 14)
SHARDS = 16  # the test configuration's cassandra.shards

RULES = {  # model, expression
    "pair": ("JAP", "#A E:60 #B"),
    "either": ("JAP", "#A OU #C"),
    "nested": ("JAP", "(#A E:30 #B) OU (#C E:2m #D)"),
    "self pair": ("JAP", "#D E:1h #D"),
    "chain": ("JAP", "#A E:10m #B E:10m #C"),
    "other model": ("KOM", "#A E:5m #E"),
    "tti": ("JAP", "(#A E:20m #B) OU #E tti:15m"),
    "tti single": ("KOM", "#C tti:30m"),
}


def make_faults(seed: int, days: int, late: bool) -> list[Fault]:
    """Faults of 12 serials over `days` days; with `late`, a third arrive 1-3 days
    after they occurred (within the 7-day horizon), else each arrives when it occurs."""
    rng = random.Random(seed)
    faults = []
    start = datetime.combine(FIRST_DAY, datetime.min.time(), tzinfo=UTC)
    for serial_index in range(12):
        model = "JAP" if serial_index < 8 else "KOM"
        serial = f"{model}{serial_index:05d}"
        for _ in range(rng.randint(10, 40)):
            ts = start + timedelta(milliseconds=rng.randrange(days * 86_400_000))
            if rng.random() < 0.3:  # bursts: faults close together make AND windows match
                ts = ts.replace(minute=rng.choice([0, 1, 2]), second=rng.choice([0, 30]))
            delay = timedelta(days=rng.randint(1, 3), hours=rng.randint(0, 20)) \
                if late and rng.random() < 0.33 else timedelta(0)
            faults.append(Fault.of(serial, model, rng.choice("ABCDE").join(["#", ""]),
                                   ts, ts + delay, SHARDS))
    return faults


def make_bursts(seed: int, days: int) -> list[Fault]:
    """Faults close together, so every AND of RULES has matches; a third of
    them received 1 to 3 days late."""
    rng = random.Random(seed)
    start = datetime.combine(FIRST_DAY, datetime.min.time(), tzinfo=UTC)
    found = []
    for serial, model in [(f"JAP{n:05d}", "JAP") for n in range(8)] + [
            (f"KOM{n:05d}", "KOM") for n in range(8, 12)]:
        for _ in range(6):
            at = start + timedelta(seconds=rng.randrange(days * 86_400))
            for _ in range(4):
                ts = at + timedelta(milliseconds=rng.randrange(150_000))
                late = timedelta(days=rng.randint(1, 3)) if rng.random() < 0.33 else timedelta(0)
                found.append(Fault.of(serial, model, "#" + rng.choice("ABCDE"), ts, ts + late,
                                      SHARDS))
    return found


def write_faults(cassandra, config, faults):
    assert config.get("cassandra", "shards") == SHARDS
    FaultWriter(cassandra, config.get("cassandra", "keyspace")).write(faults)


def expected_violations(faults, ids, names) -> set[tuple[int, str, int]]:
    """One brute-force evaluation over all faults, per rule and serial."""
    expected = set()
    for name in names:
        model, expression = RULES[name]
        rule = parse_rule(expression)
        serials = {f.serial_number for f in faults if f.model == model}
        for serial in serials:
            mine = [(f.tag, _ms(f.ts)) for f in faults
                    if f.serial_number == serial and f.model == model]
            expected |= {(ids[name], serial, instant) for instant in oracle.violations(rule, mine)}
    return expected


def stored_violations(engine, rule_ids=None) -> set[tuple[int, str, int]]:
    with engine.connect() as connection:
        rows = connection.execute(select(Violation.rule_id, Violation.serial_number, Violation.ts))
        return {(rule_id, serial, _ms(ts.replace(tzinfo=UTC)))
                for rule_id, serial, ts in rows if rule_ids is None or rule_id in rule_ids}


def received_days(faults) -> list[date]:
    first, last = min(f.day for f in faults), max(f.day for f in faults)
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _ms(value: datetime) -> int:
    return (value - EPOCH) // timedelta(milliseconds=1)
