"""The charts fleetwatch draws, one definition each: Vega-Lite specifications built
with Altair, shown as-is in the HTML report and rendered to PNG by vl-convert for
e-mail (vl-convert embeds its own renderer: no browser is downloaded or started)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

SEVERITIES = ("critical", "warning", "info")
SEVERITY_COLOURS = ("#c0392b", "#e67e22", "#2e86c1")


def violations_per_day(counts: Sequence[Mapping[str, object]], days: Sequence[date], *,
                       title: str = "Violations per day", width: int = 480,
                       height: int = 160):
    """A bar per day stacked by severity (the thesis's Fig. 5.1). `counts` holds
    {"day": date, "severity": str, "violations": int}; days without a row are drawn
    empty, so the axis always shows every day asked for."""
    import altair as alt

    values = [{"day": row["day"].isoformat(), "severity": row["severity"],
               "violations": int(row["violations"])} for row in counts]
    return (alt.Chart(alt.Data(values=values), title=title, width=width, height=height)
            .mark_bar()
            .encode(x=alt.X("day:O", title=None, sort=[day.isoformat() for day in days],
                            scale=alt.Scale(domain=[day.isoformat() for day in days]),
                            axis=alt.Axis(labelAngle=-45)),
                    y=alt.Y("sum(violations):Q", title="violations"),
                    color=alt.Color("severity:N",
                                    scale=alt.Scale(domain=list(SEVERITIES),
                                                    range=list(SEVERITY_COLOURS)),
                                    legend=alt.Legend(orient="bottom", title=None)),
                    order=alt.Order("severity_rank:Q"),
                    tooltip=["day:O", "severity:N", "sum(violations):Q"])
            .transform_calculate(severity_rank=_severity_rank_expression()))


def _severity_rank_expression() -> str:
    ranks = " : ".join(f"datum.severity === '{name}' ? {rank}"
                       for rank, name in enumerate(SEVERITIES))
    return f"{ranks} : {len(SEVERITIES)}"


def to_png(chart, scale: float = 1.0) -> bytes:
    import vl_convert

    return vl_convert.vegalite_to_png(chart.to_json(), scale=scale)
