"""Simulated fault telemetry, seeded and deterministic (same arguments, same
data): a fleet of serials over several models, each model with its own
vocabulary of fault codes, faults spread over days, a few percent reported
days late, and (when written out) a few percent malformed in various ways.

Generation is vectorised with numpy, so a benchmark can draw millions of
faults in a second or two, and `tag_vocabulary` gives it the codes the
faults are drawn from, to write rules that match them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np

from schemas.faults import KIND_CODES, format_tag
from spark_app.ingest.feed_xml import render_record

DAY_MS = 86_400_000
MODEL_NAMES = ("JAP", "KOM", "CAT", "VOL", "LIE", "HIT", "DOO", "JCB", "CAS", "TER")
KINDS = {code: kind for kind, code in KIND_CODES.items()}  # 1 -> "event", 2 -> "diagnostic"
_VOCABULARY_SEED = 15143  # the vocabulary depends on the fleet's shape only, never on a run
_WRITE_BLOCK = 100_000  # rows formatted at a time, to keep memory flat


@dataclass(frozen=True)
class FleetSpec:
    serials: int = 1_000
    models: int = 5
    days: int = 3
    start: date = date(2016, 11, 16)
    faults_per_day: int = 10_000
    late_fraction: float = 0.03
    tags_per_model: int = 40


def model_names(count: int) -> list[str]:
    return [MODEL_NAMES[n] if n < len(MODEL_NAMES) else f"M{n:03d}" for n in range(count)]


@dataclass(frozen=True)
class TagVocabulary:
    """Per model (row), the fault codes its machines report (columns)."""
    models: tuple[str, ...]
    kind_code: np.ndarray  # (models, tags) 1 = event, 2 = diagnostic
    mid: np.ndarray
    cid: np.ndarray
    fmi: np.ndarray

    def codes(self, model: str) -> list[tuple[str, int, int, int]]:
        """(kind, mid, cid, fmi) of every code of one model."""
        row = self.models.index(model)
        return [(KINDS[int(k)], int(m), int(c), int(f)) for k, m, c, f in
                zip(self.kind_code[row], self.mid[row], self.cid[row], self.fmi[row],
                    strict=True)]

    def tags(self) -> np.ndarray:
        """(models, tags) array of tag strings, `#1.MID.CID.FMI` / `#2.…`."""
        return np.array([[format_tag(k, m, c, f) for k, m, c, f in zip(*columns, strict=True)]
                         for columns in zip(self.kind_code, self.mid, self.cid, self.fmi,
                                            strict=True)],
                        dtype=object)


def tag_vocabulary(models: int, tags_per_model: int) -> TagVocabulary:
    """Distinct codes per model: MID 100-199, CID 100-999, FMI 0-31, 70% events."""
    rng = np.random.default_rng(_VOCABULARY_SEED)
    # distinct (MID, CID, FMI) per model, so its tags are distinct whatever the kind
    picks = np.stack([rng.choice(100 * 900 * 32, tags_per_model, replace=False)
                      for _ in range(models)])
    picks, fmi = np.divmod(picks, 32)
    mid, cid = np.divmod(picks, 900)
    kind_code = np.where(rng.random(picks.shape) < 0.7, 1, 2)
    return TagVocabulary(tuple(model_names(models)), kind_code, mid + 100, cid + 100, fmi)


@dataclass(frozen=True)
class SimulatedFaults:
    """Column arrays, one entry per fault, in the order they were received."""
    serial_number: np.ndarray  # object (str)
    model: np.ndarray          # object (str)
    kind: np.ndarray           # object ("event" | "diagnostic")
    mid: np.ndarray            # int64
    cid: np.ndarray
    fmi: np.ndarray
    tag: np.ndarray            # object (str)
    ts_ms: np.ndarray          # int64, epoch milliseconds UTC
    received_ms: np.ndarray
    late: np.ndarray           # bool: reported days after it happened

    def __len__(self) -> int:
        return len(self.ts_ms)


def simulate_faults(spec: FleetSpec, seed: int) -> SimulatedFaults:
    rng = np.random.default_rng(seed)
    count = spec.days * spec.faults_per_day
    vocabulary = tag_vocabulary(spec.models, spec.tags_per_model)
    names = np.array(vocabulary.models, dtype=object)
    serial_model = np.arange(spec.serials) % spec.models  # serial n is of model n mod models
    serial_names = np.array([f"{names[m]}{n:05d}" for n, m in enumerate(serial_model)],
                            dtype=object)

    # a few machines fault much more often than the rest
    activity = rng.lognormal(0.0, 1.0, spec.serials)
    serial = rng.choice(spec.serials, count, p=activity / activity.sum())
    model = serial_model[serial]
    code = rng.integers(0, spec.tags_per_model, count)

    start_ms = int(datetime(spec.start.year, spec.start.month, spec.start.day,
                            tzinfo=UTC).timestamp() * 1000)
    ts_ms = start_ms + np.repeat(np.arange(spec.days, dtype=np.int64) * DAY_MS,
                                 spec.faults_per_day) + rng.integers(0, DAY_MS, count)
    late = rng.random(count) < spec.late_fraction
    delay_ms = np.where(late, rng.integers(2 * DAY_MS, 6 * DAY_MS, count),
                        rng.integers(5_000, 30 * 60_000, count))  # satellite latency
    received_ms = ts_ms + delay_ms

    order = np.argsort(received_ms, kind="stable")
    serial, model, code = serial[order], model[order], code[order]
    kind_code = vocabulary.kind_code[model, code]
    return SimulatedFaults(
        serial_number=serial_names[serial], model=names[model],
        kind=np.where(kind_code == 1, "event", "diagnostic").astype(object),
        mid=vocabulary.mid[model, code], cid=vocabulary.cid[model, code],
        fmi=vocabulary.fmi[model, code], tag=vocabulary.tags()[model, code],
        ts_ms=ts_ms[order], received_ms=received_ms[order], late=late[order])


def iso_ms(epoch_ms: np.ndarray) -> np.ndarray:
    """ISO 8601 UTC text with milliseconds, e.g. 2016-11-16T13:34:00.123Z."""
    return np.char.add(np.datetime_as_string(epoch_ms.astype("datetime64[ms]"), unit="ms"), "Z")


# ---- malformed records -------------------------------------------------------------

# Each takes one fault as a dict of JSON-lines fields and returns a bad line.
JSON_MALFORMATIONS: dict[str, Callable[[dict], str]] = {
    "truncated JSON": lambda r: json.dumps(r)[:-9],
    "missing mid": lambda r: json.dumps({k: v for k, v in r.items() if k != "mid"}),
    "non-numeric fmi": lambda r: json.dumps({**r, "fmi": f"{r['fmi']}x"}),
    "mid as a string": lambda r: json.dumps({**r, "mid": str(r["mid"])}),
    "negative cid": lambda r: json.dumps({**r, "cid": -r["cid"]}),
    "unparseable ts": lambda r: json.dumps({**r, "ts": "16/11/2016 13:34"}),
    "ts without time zone": lambda r: json.dumps({**r, "ts": r["ts"].rstrip("Z")}),
    "far-future ts": lambda r: json.dumps({**r, "ts": "2099-01-01T00:00:00Z"}),
    "empty serial_number": lambda r: json.dumps({**r, "serial_number": ""}),
    "unknown kind": lambda r: json.dumps({**r, "kind": "warning"}),
}

# Each takes render_record's keyword arguments and returns a bad <FaultCode>.
XML_MALFORMATIONS: dict[str, Callable[[dict], str]] = {
    "missing MID": lambda r: render_record(**r).replace(f"<MID>{r['mid']}</MID>", ""),
    "non-numeric FMI": lambda r: render_record(**{**r, "fmi": f"{r['fmi']}x"}),
    "unparseable OccurrenceTime": lambda r: render_record(**{**r, "occurred": "yesterday"}),
    "far-future OccurrenceTime": lambda r: render_record(
        **{**r, "occurred": "2099-01-01T00:00:00Z"}),
    "empty SerialNumber": lambda r: render_record(**{**r, "serial_number": ""}),
    "unknown Kind": lambda r: render_record(**{**r, "kind": "warning"}),
}


def _malformed_choice(count: int, fraction: float, kinds: int, seed: int) -> np.ndarray:
    """Per record: -1 if good, else which malformation it gets."""
    rng = np.random.default_rng([seed, 1])  # independent of the faults' own draws
    return np.where(rng.random(count) < fraction, rng.integers(0, kinds, count), -1)


def _records(faults: SimulatedFaults, choice: np.ndarray, begin: int,
             end: int) -> Iterator[tuple]:
    """(malformation or -1, serial, model, kind, mid, cid, fmi, ts, received) as
    Python values: formatting numpy scalars one by one is several times slower."""
    block = slice(begin, end)
    return zip(choice[block].tolist(), faults.serial_number[block].tolist(),
               faults.model[block].tolist(), faults.kind[block].tolist(),
               faults.mid[block].tolist(), faults.cid[block].tolist(),
               faults.fmi[block].tolist(), iso_ms(faults.ts_ms[block]).tolist(),
               iso_ms(faults.received_ms[block]).tolist(), strict=True)


# ---- JSON lines ---------------------------------------------------------------------

@dataclass(frozen=True)
class WrittenLines:
    path: Path
    lines: int
    malformed: np.ndarray  # bool per line: made bad on purpose

    @property
    def good(self) -> int:
        return self.lines - int(self.malformed.sum())


def write_jsonl(faults: SimulatedFaults, path: Path, malformed_fraction: float,
                seed: int) -> WrittenLines:
    choice = _malformed_choice(len(faults), malformed_fraction, len(JSON_MALFORMATIONS), seed)
    breakers = list(JSON_MALFORMATIONS.values())
    path = Path(path)
    with open(path, "w", encoding="utf-8") as out:
        for begin in range(0, len(faults), _WRITE_BLOCK):
            end = min(begin + _WRITE_BLOCK, len(faults))
            lines = []
            for broken, serial, model, kind, mid, cid, fmi, ts, received in _records(
                    faults, choice, begin, end):
                if broken < 0:
                    lines.append(
                        f'{{"serial_number": "{serial}", "model": "{model}", "kind": "{kind}", '
                        f'"mid": {mid}, "cid": {cid}, "fmi": {fmi}, "ts": "{ts}", '
                        f'"received_at": "{received}"}}\n')
                else:
                    record = {"serial_number": serial, "model": model, "kind": kind, "mid": mid,
                              "cid": cid, "fmi": fmi, "ts": ts, "received_at": received}
                    lines.append(breakers[broken](record) + "\n")
            out.writelines(lines)
    return WrittenLines(path, len(faults), choice >= 0)


# ---- XML feed records ------------------------------------------------------------------

@dataclass(frozen=True)
class FeedRecords:
    records: list[str]     # <FaultCode> elements, in feed order
    malformed: np.ndarray  # bool per record

    @property
    def good(self) -> int:
        return len(self.records) - int(self.malformed.sum())


def feed_records(faults: SimulatedFaults, malformed_fraction: float, seed: int) -> FeedRecords:
    choice = _malformed_choice(len(faults), malformed_fraction, len(XML_MALFORMATIONS), seed)
    breakers = list(XML_MALFORMATIONS.values())
    records = []
    for begin in range(0, len(faults), _WRITE_BLOCK):
        end = min(begin + _WRITE_BLOCK, len(faults))
        for broken, serial, model, kind, mid, cid, fmi, ts, received in _records(
                faults, choice, begin, end):
            fields = {"serial_number": serial, "model": model, "kind": kind, "mid": mid,
                      "cid": cid, "fmi": fmi, "occurred": ts, "received": received}
            records.append(render_record(**fields) if broken < 0 else breakers[broken](fields))
    return FeedRecords(records, choice >= 0)
