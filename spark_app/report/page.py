"""The report as one HTML page that opens offline: the charts (Vega-Lite from
Altair, compiled to Vega by vl-convert) and the Vega and vega-embed JavaScript
(vl-convert's bundle) are inlined, the styles too; nothing is fetched from any host."""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache

from spark_app.common import charts as common_charts
from spark_app.common.output import text_of
from spark_app.report import charts
from spark_app.report.relational import Period


@dataclass(frozen=True)
class ReportData:
    """Every aggregate the page draws (see relational.py and cassandra.py)."""
    period: Period
    violations_per_day: list[dict]
    top_rules: list[dict]
    states_per_site_model: list[dict]
    top_open_serials: list[dict]
    open_violations: dict[str, list[dict]]
    runs: list[dict]
    breach_episodes: list[dict]
    window_averages: list[dict]
    rejects_per_day: list[dict]
    rejects_by_reason: list[dict]
    generated_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def faults_per_day(self) -> list[dict]:
        """The faults received each day: what the day's run read (job_runs.faults_read)."""
        return [{"day": run["day"], "faults": run["faults_read"]} for run in self.runs
                if run["faults_read"] is not None]


def _vega_spec(chart) -> dict:
    """Compiled from Vega-Lite here, once, rather than in every browser that opens it."""
    import vl_convert

    return vl_convert.vegalite_to_vega(chart.to_dict())


_SCRIPT_END = re.compile("</script", re.IGNORECASE)


@cache
def _javascript() -> str:
    import vl_convert

    return vl_convert.javascript_bundle()


def _script_safe(text: str) -> str:
    """Text that cannot end (or comment out) its <script> element early. "<\\/script" means
    "</script" in a JS string and in a regular expression alike; the bundle has none."""
    return _SCRIPT_END.sub(lambda match: "<\\/" + match.group(0)[2:], text).replace(
        "<!--", "<\\!--")


_STYLE = """
body { font-family: sans-serif; margin: 1.5em auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ccc; margin-top: 1.6em; }
p.meta { color: #666; margin-top: 0; } .chart { margin: 0.8em 0; } .empty { color: #888; font-style: italic; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.6em 0; }
th, td { border: 1px solid #ddd; padding: 2px 8px; text-align: left; } th { background: #f4f6f7; }
td.n { text-align: right; } details { margin: 0.3em 0; } :target { background: #fdf2e9; }
"""


def render(data: ReportData) -> str:
    """The whole page."""
    specs: dict[str, dict] = {}
    body: list[str] = []

    def chart(chart_id: str, altair_chart, rows_count: int, empty: str) -> str:
        specs[chart_id] = _vega_spec(altair_chart)
        note = "" if rows_count else f'<p class="empty">{html.escape(empty)}</p>'
        return f'<div class="chart" id="{chart_id}"></div>{note}'

    period, days = data.period, data.period.days
    body.append("<h2>Violations</h2>")
    body.append(chart("violations-per-day", common_charts.violations_per_day(
        data.violations_per_day, days, width=charts.WIDTH), len(data.violations_per_day),
        "no violation in the period"))
    body.append(chart("top-rules", charts.top_rules(data.top_rules), len(data.top_rules),
                      "no rule fired in the period"))
    body.append(chart("states", charts.states_per_site_model(data.states_per_site_model),
                      len(data.states_per_site_model), "no violation in the period"))
    body.append(chart("top-serials", charts.top_open_serials(data.top_open_serials),
                      len(data.top_open_serials), "no open violation"))
    body.append(_serial_lists(data.top_open_serials, data.open_violations))

    body.append("<h2>The daily job</h2>")
    body.append(chart("run-stages", charts.run_stages(data.runs, days), len(data.runs),
                      "the daily job did not run in the period"))
    body.append(chart("run-counts", charts.run_counts(data.runs, days), len(data.runs),
                      "the daily job did not run in the period"))
    body.append(_runs_table(data.runs))

    body.append("<h2>Temperatures</h2>")
    body.append(chart("breaches", charts.breach_episodes(data.breach_episodes, period.end),
                      len(data.breach_episodes), "no breach episode in the period"))
    body.append(_breaches_table(data.breach_episodes))
    body.append(chart("windows", charts.window_averages(data.window_averages),
                      len(data.window_averages), "no temperature window within its TTL"))

    body.append("<h2>Ingestion</h2>")
    body.append(chart("ingestion", charts.ingestion_per_day(
        data.faults_per_day, data.rejects_per_day, days),
        len(data.faults_per_day) + len(data.rejects_per_day), "nothing ingested in the period"))
    body.append(chart("reject-reasons", charts.rejects_by_reason(data.rejects_by_reason),
                      len(data.rejects_by_reason), "no reject in the period"))

    title = f"fleetwatch fleet report {period.first} … {period.last}"
    embed = ("const specs = " + json.dumps(specs, separators=(",", ":")) + ";\n"
             "Promise.all(Object.entries(specs).map(([id, spec]) =>"
             # a bar's link (a top serial's list) opens in this page, not in a new tab
             " vegaEmbed('#' + id, spec, {actions: false, renderer: 'svg',"
             " loader: {target: '_self'}})))"
             # When every chart is drawn, in ms since the page began loading (the browser test's clock).
             ".then(() => { document.body.dataset.renderedMs = Math.round(performance.now());"
             " document.body.dataset.rendered = 'yes'; })"
             ".catch((error) => { document.body.dataset.rendered = 'failed';"
             " console.error(error); });\n"
             # the list a link points to is folded: unfold it
             "function unfoldTarget() { const target = document.getElementById("
             "decodeURIComponent(location.hash.slice(1)));"
             " if (target && target.tagName === 'DETAILS') { target.open = true; } }\n"
             "window.addEventListener('hashchange', unfoldTarget); unfoldTarget();")
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        # No request to any host, whatever the page holds.
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; img-src data:\">",
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style>",
        f"<script>{_script_safe(_javascript())}</script></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f'<p class="meta">{len(days)} days ending {period.last} · generated '
        f"{text_of(data.generated_at)}</p>",
        *body,
        f"<script>{_script_safe(embed)}</script>", "</body></html>", ""])


def _cell(value: object, numeric: bool = False) -> str:
    text = text_of(value)
    css = ' class="n"' if numeric else ""
    return f"<td{css}>{html.escape(text) if text is not None else '–'}</td>"


def _table(headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(header)}</th>" for header in headers)
    return f"<table><tr>{head}</tr>" + "".join(f"<tr>{''.join(row)}</tr>" for row in rows) \
        + "</table>"


def _serial_lists(serials: list[dict], listed: dict[str, list[dict]]) -> str:
    parts = []
    for row in serials:
        serial = row["serial_number"]
        violations = listed.get(serial, [])
        table = _table(["violation", "rule", "severity", "instant", "detected"], [
            [_cell(v["id"], True), _cell(f"#{v['rule_id']} {v['description'] or ''}"),
             _cell(v["severity"]), _cell(v["ts"]), _cell(v["detected_at"])]
            for v in violations])
        shown = f"latest {len(violations)} of {row['open']}" if len(violations) < row["open"] \
            else f"all {row['open']}"
        parts.append(f'<details id="serial-{html.escape(serial)}"><summary>'
                     f"{html.escape(serial)} ({html.escape(row['site'])}): {shown} open "
                     f"violations</summary>{table}</details>")
    return "".join(parts)


def _runs_table(runs: list[dict]) -> str:
    rows = []
    for run in runs:
        skipped = "; ".join(f"#{skip.get('rule_id')}: {skip.get('reason')}"
                            for skip in run["rules_skipped"])
        rows.append([_cell(run["day"]), _cell(run["status"]),
                     _cell(None if run["duration_s"] is None else round(run["duration_s"], 1),
                           True),
                     _cell(run["faults_read"], True), _cell(run["pending_read"], True),
                     _cell(run["violations_new"], True), _cell(skipped or None)])
    return _table(["day", "status", "seconds", "faults read", "pending read", "violations new",
                   "rules skipped (reason)"], rows) if rows else ""


def _breaches_table(episodes: list[dict]) -> str:
    rows = [[_cell(e["equipment_id"]), _cell(e["model"]), _cell(e["threshold_c"], True),
             _cell(e["started_at"]), _cell(e["ended_at"]), _cell(e["peak_average_c"], True),
             _cell(e["emails_sent"], True), _cell(e["silenced"])] for e in episodes]
    return _table(["equipment", "model", "threshold °C", "started", "ended", "peak average °C",
                   "e-mails", "silenced"], rows) if rows else ""
