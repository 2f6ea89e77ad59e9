"""Simulated engine temperatures, after the seed's simulador.py: every
equipment starts at a random temperature and drifts by a small random step
per reading. Normal engines run about 40-90 °C, hot ones about 150 °C.
The same seed gives the same readings.

Written as JSON-lines files, each covering `file_seconds` of event time, under
a dot-name and then renamed: a stream never reads half a file. By default all
at once, the last reading stamped now; `--live` writes each file as its
interval passes; `--start` fixes the instants, so the files are the same
byte for byte. With `--kafka` the same chunks are sent to Kafka instead
(spark_app/sim/kafka_producer.py), one record per reading.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from spark_app.common.cli_args import (
    iso_instant,
    non_negative_number,
    positive_number,
    positive_whole_number,
    seed,
)
from spark_app.common.config import load_config

MODELS = ("EX200", "HD785", "WA600", "D375A")
NORMAL_RANGE_C = (40.0, 90.0)
HOT_RANGE_C = (140.0, 160.0)
STEP_C = 1.0


@dataclass(frozen=True)
class Reading:
    equipment_id: str
    ts: datetime
    temperature_c: float
    model: str

    def json_line(self) -> str:
        return json.dumps({"equipment_id": self.equipment_id,
                           "ts": self.ts.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
                           "temperature_c": self.temperature_c, "model": self.model})


def equipment_ids(count: int) -> list[str]:
    return [f"EQ-{number:04d}" for number in range(1, count + 1)]


def model_of(equipment_id: str) -> str:
    return MODELS[int(equipment_id.rsplit("-", 1)[1]) % len(MODELS)]


@dataclass
class Fleet:
    """The simulated fleet: `rate` readings per second from each equipment."""
    equipment: int
    rate: float
    hot: frozenset[str] = frozenset()
    seed: int = 0
    _rng: random.Random = field(init=False, repr=False)
    _temperature: dict[str, float] = field(init=False, repr=False)

    def __post_init__(self):
        if self.equipment < 1 or self.rate <= 0:
            raise ValueError("need at least one equipment and a positive rate")
        self._rng = random.Random(self.seed)
        self._temperature = {eid: round(self._rng.uniform(*self._range(eid)), 1)
                             for eid in equipment_ids(self.equipment)}

    def _range(self, equipment_id: str) -> tuple[float, float]:
        return HOT_RANGE_C if equipment_id in self.hot else NORMAL_RANGE_C

    def readings(self, start: datetime) -> Iterator[Reading]:
        """Endless readings from `start`, in event-time order; equipment report
        evenly spread over each period of 1/rate seconds."""
        period = 1.0 / self.rate
        ids = list(self._temperature)
        spacing = period / len(ids)
        tick = 0
        while True:
            for index, equipment_id in enumerate(ids):
                ts = start + timedelta(seconds=tick * period + index * spacing)
                yield Reading(equipment_id, ts, self._step(equipment_id), model_of(equipment_id))
            tick += 1

    def _step(self, equipment_id: str) -> float:
        low, high = self._range(equipment_id)
        drifted = self._temperature[equipment_id] + self._rng.uniform(-STEP_C, STEP_C)
        self._temperature[equipment_id] = round(min(high, max(low, drifted)), 1)
        return self._temperature[equipment_id]


def write_file(directory: Path, name: str, readings: list[Reading]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    partial = directory / f".{name}.part"
    partial.write_text("".join(reading.json_line() + "\n" for reading in readings))
    return partial.rename(directory / name)


def chunks(fleet: Fleet, start: datetime, duration_s: float, file_seconds: float = 60.0,
           wait_until: Callable[[datetime], None] | None = None,
           ) -> Iterator[tuple[datetime, list[Reading]]]:
    """(first instant, readings) of each `file_seconds` of [start, start + duration_s).
    With `wait_until`, each is given only once its last instant has passed (a live feed)."""
    end = start + timedelta(seconds=duration_s)
    readings = fleet.readings(start)
    pending = next(readings)
    chunk_start = start
    while chunk_start < end:
        chunk_end = min(end, chunk_start + timedelta(seconds=file_seconds))
        chunk = []
        while pending.ts < chunk_end:
            chunk.append(pending)
            pending = next(readings)
        if wait_until is not None:
            wait_until(chunk_end)
        yield chunk_start, chunk
        chunk_start = chunk_end


def write_files(fleet: Fleet, directory: Path, start: datetime, duration_s: float,
                file_seconds: float = 60.0,
                wait_until: Callable[[datetime], None] | None = None) -> list[Path]:
    """One file per chunk (see `chunks`)."""
    written = []
    for chunk_start, chunk in chunks(fleet, start, duration_s, file_seconds, wait_until):
        name = (f"readings-{chunk_start:%Y%m%dT%H%M%S}.{chunk_start.microsecond // 1000:03d}Z"
                f"-seed{fleet.seed}.jsonl")
        written.append(write_file(directory, name, chunk))
    return written


def wait_for_wall_clock(instant: datetime) -> None:
    delay = (instant - datetime.now(UTC)).total_seconds()
    if delay > 0:
        time.sleep(delay)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--out", type=Path, metavar="DIR", help="folder to write into")
    where.add_argument("--kafka", action="store_true",
                       help="send to the topic stream.kafka_topic at stream.kafka_bootstrap "
                            "([kafka] says how to connect), one record per reading, keyed "
                            "by equipment")
    parser.add_argument("--equipment", type=positive_whole_number, default=10, metavar="N")
    parser.add_argument("--rate", type=positive_number, default=1.0, metavar="R",
                        help="readings per second from each equipment (default 1)")
    parser.add_argument("--hot", action="append", default=[], metavar="ID",
                        help="an equipment running hot, ~150 °C (repeatable), e.g. EQ-0003")
    parser.add_argument("--duration", type=non_negative_number, default=600.0, metavar="S",
                        help="seconds of readings (default 600; with --live, 0 runs until "
                             "interrupted)")
    parser.add_argument("--seed", type=seed, default=0, metavar="S")
    when = parser.add_mutually_exclusive_group()
    when.add_argument("--start", type=iso_instant, metavar="ISO",
                      help="event time of the first reading (default: the last one is now)")
    when.add_argument("--live", action="store_true",
                      help="from now on, each file written as its interval passes")
    parser.add_argument("--file-seconds", type=positive_number, default=60.0, metavar="S",
                        help="event time covered by each file, or sent at once to Kafka "
                             "(default 60)")


def run_from_args(args) -> int:
    try:
        fleet = Fleet(args.equipment, args.rate, frozenset(args.hot), args.seed)
    except ValueError as error:
        print(f"fleetwatch: {error}", file=sys.stderr)
        return 2
    now = datetime.now(UTC).replace(microsecond=0)
    duration = float("inf") if args.live and args.duration == 0 else args.duration
    if args.live:
        start = now
    else:
        start = args.start or now - timedelta(seconds=duration)
    wait_until = wait_for_wall_clock if args.live else None
    if args.kafka:
        from spark_app.sim.kafka_producer import send_readings

        return send_readings(load_config(args.config),
                             chunks(fleet, start, duration, args.file_seconds, wait_until))
    files = write_files(fleet, args.out, start, duration, args.file_seconds, wait_until)
    print(f"wrote {len(files)} file(s) to {args.out}")
    return 0

