"""The report's charts (Altair, Vega-Lite), each from one aggregate's rows. The
violations-per-day chart is the shared one of spark_app.common.charts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

import altair as alt

from schemas.relational import VIOLATION_STATES

WIDTH = 560
COUNT_AXIS = alt.Axis(format="d", tickMinStep=1)  # counts: no tick at 0.5
STATE_COLOURS = ("#c0392b", "#f1c40f", "#27ae60")


def _days_axis(days: Sequence[date]) -> alt.X:
    names = [day.isoformat() for day in days]
    return alt.X("day:O", title=None, sort=names, scale=alt.Scale(domain=names),
                 axis=alt.Axis(labelAngle=-45))


def _values(rows: Sequence[Mapping[str, object]]) -> alt.Data:
    return alt.Data(values=[{key: value.isoformat() if isinstance(value, date) else value
                             for key, value in row.items()} for row in rows])


def top_rules(rows: Sequence[Mapping[str, object]]):
    """A bar per rule: its violations of the period, and those still open from before."""
    folded = [{"rule": row["label"], "kind": kind, "violations": row[key]}
              for row in rows
              for key, kind in (("new", "new in the period"),
                                ("already_open", "open from before"))]
    return (alt.Chart(_values(folded), title="Rules that fired most", width=WIDTH - 200)
            .mark_bar()
            .encode(y=alt.Y("rule:N", title=None, sort=[row["label"] for row in rows]),
                    x=alt.X("sum(violations):Q", title="violations", axis=COUNT_AXIS),
                    color=alt.Color("kind:N", scale=alt.Scale(
                        domain=["new in the period", "open from before"],
                        range=["#2e86c1", "#aab7b8"]),
                        legend=alt.Legend(orient="bottom", title=None)),
                    tooltip=["rule:N", "kind:N", "sum(violations):Q"]))


def states_per_site_model(rows: Sequence[Mapping[str, object]]):
    """A bar per site and model: the period's violations by the state they are in now."""
    values = [{"where": f"{row['site']} / {row['model']}", "state": row["state"],
               "violations": row["violations"]} for row in rows]
    return (alt.Chart(_values(values), title="Violations of the period by site, model and state",
                      width=WIDTH - 200)
            .mark_bar()
            .encode(y=alt.Y("where:N", title=None),
                    x=alt.X("sum(violations):Q", title="violations", axis=COUNT_AXIS),
                    color=alt.Color("state:N", scale=alt.Scale(domain=list(VIOLATION_STATES),
                                                               range=list(STATE_COLOURS)),
                                    legend=alt.Legend(orient="bottom", title=None)),
                    order=alt.Order("state_rank:Q"),
                    tooltip=["where:N", "state:N", "sum(violations):Q"])
            .transform_calculate(state_rank=" : ".join(
                f"datum.state === '{state}' ? {rank}" for rank, state in
                enumerate(VIOLATION_STATES)) + f" : {len(VIOLATION_STATES)}"))


def top_open_serials(rows: Sequence[Mapping[str, object]]):
    """A bar per serial: its open violations; a click opens the serial's list below."""
    values = [{"serial": row["serial_number"], "site": row["site"], "open": row["open"],
               "link": f"#serial-{row['serial_number']}"} for row in rows]
    return (alt.Chart(_values(values), title="Serials with the most open violations",
                      width=WIDTH - 200)
            .mark_bar(color="#c0392b", cursor="pointer")
            .encode(y=alt.Y("serial:N", title=None, sort="-x"),
                    x=alt.X("open:Q", title="open violations", axis=COUNT_AXIS),
                    href="link:N",
                    tooltip=["serial:N", "site:N", "open:Q"]))


def run_stages(runs: Sequence[Mapping[str, object]], days: Sequence[date]):
    """The daily job's duration per day, split into its Spark stages; what the stages
    do not account for (driver work, the database) is its own part."""
    values = []
    for run in runs:
        stages = run["stages"]
        values += [{"day": run["day"], "stage": stage, "seconds": seconds}
                   for stage, seconds in stages.items()]
        if run["duration_s"] is not None:
            rest = run["duration_s"] - sum(stages.values())
            values.append({"day": run["day"], "stage": "outside Spark stages",
                           "seconds": round(max(rest, 0.0), 3)})
    return (alt.Chart(_values(values), title="Daily job: duration per day by stage",
                      width=WIDTH, height=160)
            .mark_bar()
            .encode(x=_days_axis(days), y=alt.Y("sum(seconds):Q", title="seconds"),
                    color=alt.Color("stage:N", legend=alt.Legend(orient="bottom", title=None,
                                                                 columns=1, labelLimit=420)),
                    tooltip=["day:O", "stage:N", "sum(seconds):Q"]))


def run_counts(runs: Sequence[Mapping[str, object]], days: Sequence[date]):
    """Faults read, pending faults read and new violations of each day's run."""
    measures = (("faults_read", "faults read"), ("pending_read", "pending read"),
                ("violations_new", "violations new"))
    values = [{"day": run["day"], "measure": name, "count": run[key]}
              for run in runs for key, name in measures if run[key] is not None]
    return (alt.Chart(_values(values), width=WIDTH, height=70)
            .mark_bar(color="#5d6d7e")
            .encode(x=_days_axis(days), y=alt.Y("count:Q", title=None, axis=COUNT_AXIS),
                    tooltip=["day:O", "measure:N", "count:Q"])
            .facet(row=alt.Row("measure:N", title=None,
                               sort=[name for _, name in measures]),
                   title="Daily job: what each day's run read and found")
            .resolve_scale(y="independent"))


def ingestion_per_day(faults_per_day: Sequence[Mapping[str, object]],
                      rejects_per_day: Sequence[Mapping[str, object]], days: Sequence[date]):
    """Faults received (what the day's run read) and records refused, per day."""
    values = ([{"day": row["day"], "kind": "faults", "count": row["faults"]}
               for row in faults_per_day]
              + [{"day": row["day"], "kind": "rejects", "count": row["rejects"]}
                 for row in rejects_per_day])
    return (alt.Chart(_values(values), width=WIDTH, height=70)
            .mark_bar()
            .encode(x=_days_axis(days), y=alt.Y("count:Q", title=None, axis=COUNT_AXIS),
                    color=alt.Color("kind:N", scale=alt.Scale(domain=["faults", "rejects"],
                                                              range=["#2e86c1", "#c0392b"]),
                                    legend=None),
                    tooltip=["day:O", "kind:N", "count:Q"])
            .facet(row=alt.Row("kind:N", title=None, sort=["faults", "rejects"]),
                   title="Ingestion: faults and rejects per day")
            .resolve_scale(y="independent"))


def rejects_by_reason(rows: Sequence[Mapping[str, object]]):
    return (alt.Chart(_values(rows), title="Rejects by reason", width=WIDTH - 260)
            .mark_bar(color="#c0392b")
            .encode(y=alt.Y("reason:N", title=None, sort="-x",
                            axis=alt.Axis(labelLimit=260)),
                    x=alt.X("rejects:Q", title="rejects", axis=COUNT_AXIS),
                    tooltip=["reason:N", "rejects:Q"]))


def breach_episodes(rows: Sequence[Mapping[str, object]], period_end):
    """One bar per breach episode, from its start to its recovery (or the period's end)."""
    values = [{"equipment": row["equipment_id"], "start": row["started_at"].isoformat() + "Z",
               "end": (row["ended_at"] or period_end).isoformat() + "Z",
               "peak": row["peak_average_c"], "threshold": row["threshold_c"],
               "state": "recovered" if row["ended_at"] else "still hot"} for row in rows]
    return (alt.Chart(_values(values), title="Temperature breach episodes", width=WIDTH)
            .mark_bar(height=8)
            .encode(x=alt.X("start:T", title=None), x2="end:T",
                    y=alt.Y("equipment:N", title=None),
                    color=alt.Color("state:N", scale=alt.Scale(
                        domain=["still hot", "recovered"], range=["#c0392b", "#e67e22"]),
                        legend=alt.Legend(orient="bottom", title=None)),
                    tooltip=["equipment:N", "start:T", "end:T", "peak:Q", "threshold:Q"]))


def window_averages(rows: Sequence[Mapping[str, object]]):
    """Per equipment, the hourly average of its window averages against its threshold."""
    base = alt.Chart(width=WIDTH // 2 - 40, height=90)
    # points too: an equipment with one hour of windows has a line of one point
    line = base.mark_line(color="#2e86c1", point=True).encode(
        x=alt.X("hour:T", title=None), y=alt.Y("avg_c:Q", title="°C"),
        tooltip=["hour:T", "avg_c:Q", "max_c:Q", "threshold_c:Q"])
    threshold = base.mark_rule(color="#c0392b", strokeDash=[4, 3]).encode(
        y="mean(threshold_c):Q")
    return (alt.layer(line, threshold, data=_values(rows))
            .facet(facet=alt.Facet("equipment_id:N", title=None), columns=2,
                   title="Window averages against the threshold (equipment still in the "
                         "windows' TTL, closest to or past it first)"))
