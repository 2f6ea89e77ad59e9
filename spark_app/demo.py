"""`make demo`: the embedded defaults end to end, printing what happens.
Re-running it is harmless: ingestion upserts, the daily job is rerun-safe and
the demo rules are loaded only into an empty rules table."""

from __future__ import annotations

import os
import shlex
import sys
from dataclasses import replace
from datetime import UTC, date, timedelta

from spark_app.common.config import Config
from spark_app.common.settings import SmtpSettings, SparkSettings

DEMO_START = date(2016, 11, 14)
DEMO_DAYS = 4
DEMO_SEED = 2016


def _step(text: str) -> None:
    print(f"\n== {text}", flush=True)


def demo_rules(models: tuple[str, ...], tags) -> list[tuple[str, str, str]]:
    """(model, expression, description) over the simulator's codes of two models:
    every shape of the language, with windows wide enough to match."""
    rules = []
    for row, model in enumerate(models[:2]):
        t = tags[row]
        rules += [
            (model, f"{t[0]}", "a single fault code"),
            (model, f"{t[1]} OU {t[2]}", "either code"),
            (model, f"{t[3]} E:6h {t[4]}", "two codes within 6 hours"),
            (model, f"({t[5]} E:12h {t[6]}) OR ({t[7]} AND:12h {t[8]}) tti:1d",
             "either pair within 12 hours, at most once a day"),
            (model, f"{t[9]} E:1d {t[10]} E:1d {t[11]}", "three codes within a day of each other"),
        ]
    return rules


def run_demo(config: Config, database: str = "sqlite") -> int:
    """database: "sqlite" (database.url), or "postgres": a local PostgreSQL started
    with the other services, used by this run and the commands it runs."""
    from sqlalchemy import text

    from spark_app.common.cassandra_session import apply_schema, cassandra_session
    from spark_app.common.relational import create_tables, engine_from_config
    from spark_app.daily.main import days_between, run
    from spark_app.daily.rule_store import RuleStore
    from spark_app.ingest.run import ingest
    from spark_app.services.mail_sink import local_services
    from spark_app.services.postgres import LocalPostgres
    from spark_app.sim.faults import FleetSpec, simulate_faults, tag_vocabulary, write_jsonl

    _step("local services")
    services = local_services(config)
    postgres = LocalPostgres(config) if database == "postgres" else None
    for service in services + ([postgres] if postgres else []):
        print(service.start().line())
    if postgres:
        config = _with_database_url(config, postgres.url())

    _step("schemas")
    with cassandra_session(config) as session:
        print(f"cassandra: {apply_schema(config, session).line()}")
    engine = engine_from_config(config)
    print(f"database: {create_tables(engine).line()} "
          f"({engine.url.render_as_string(hide_password=True)})")

    _step("rules")
    store = RuleStore(engine)
    spec = FleetSpec(serials=200, models=3, days=DEMO_DAYS, start=DEMO_START,
                     faults_per_day=4000, late_fraction=0.04, tags_per_model=12)
    if not store.list():
        vocabulary = tag_vocabulary(spec.models, spec.tags_per_model)
        for model, expression, description in demo_rules(vocabulary.models, vocabulary.tags()):
            store.add(model, expression, description)
    for rule in store.list():
        print(f"  {rule.id:>3}  {rule.model}  {rule.expression}   -- {rule.description}")

    _step(f"{DEMO_DAYS} days of simulated faults, 4% reported days late, 1% malformed")
    demo_dir = config.var_dir / "demo"
    demo_dir.mkdir(parents=True, exist_ok=True)
    faults = simulate_faults(spec, DEMO_SEED)
    lines = write_jsonl(faults, demo_dir / "faults.jsonl", 0.01, DEMO_SEED)
    print(f"wrote {lines.lines} lines to {lines.path}")
    summary = ingest(config, [str(lines.path)])
    print(summary.text())

    _step("the daily job, day by day in order of receipt")
    first = date(1970, 1, 1) + timedelta(days=int(faults.received_ms.min() // 86_400_000))
    last = date(1970, 1, 1) + timedelta(days=int(faults.received_ms.max() // 86_400_000))
    run(config, days_between(first, last))

    _step("violations per day (view violations_per_day, the thesis's Fig. 5.1)")
    with engine.connect() as connection:
        for day, count, serials in connection.execute(text(
                "SELECT day, violations, serials FROM violations_per_day ORDER BY day")):
            print(f"  {str(day)[:10]}  {count:>5} violations  {serials:>4} serials  "
                  + "#" * min(60, count // 30))
        print("top serials:")
        for serial, model, count in connection.execute(text(
                "SELECT serial_number, model, violations FROM violations_per_serial "
                "ORDER BY violations DESC, serial_number LIMIT 5")):
            print(f"  {serial}  {model}  {count}")

    _demo_people(config, engine, days_between(first, last))
    _demo_authoring(engine, first, last)
    _demo_stream(config)

    _step("where to look")
    print("  fleetwatch violations --format table     all violations "
          "(--day, --rule, --serial, --format csv|json)")
    print("  fleetwatch runs                          the runs, with counts; per-stage Spark "
          "metrics in job_runs.stage_metrics")
    print("  fleetwatch violations open               what is not resolved yet, per serial; "
          "violations ack|resolve ID…")
    print("  fleetwatch routes list / silence list    who is told, and who is not")
    print(f"  Spark UI                                 http://127.0.0.1:"
          f"{config.settings(SparkSettings).ui_port} while a job runs")
    print(f"  make history                             History Server over "
          f"{config.settings(SparkSettings).event_log_dir} at http://127.0.0.1:18080")
    print(f"  {config.settings(SmtpSettings).sink_dir}/*.eml    every e-mail the local SMTP server received")
    if postgres:
        print("  the demo's PostgreSQL, for fleetwatch and psql alike:\n"
              f"  export FLEETWATCH_DATABASE_URL={shlex.quote(postgres.url())}")
    _demo_report(config)
    return 0


def _with_database_url(config: Config, url: str) -> Config:
    """The configuration with database.url replaced, here and in the environment
    of the commands the demo runs."""
    os.environ["FLEETWATCH_DATABASE_URL"] = url
    return replace(config, values={**config.values, "database": {**config.values["database"],
                                                                 "url": url}})


DEMO_ROUTES = (("north@plant.example", {"site": "north"}),
               ("hydraulics@plant.example", {"team": "hydraulics", "min_severity": "warning"}),
               ("critical@plant.example", {"min_severity": "critical"}))


def _demo_people(config: Config, engine, days) -> None:
    """The registry (two sites, two teams; one serial left out), severities on
    the rules, three routes, a silence; each route's digest of the demo's days,
    one violation acknowledged, the open violations per serial."""
    import csv
    from datetime import datetime

    from sqlalchemy import select, update

    from schemas.relational import Rule, Violation
    from spark_app.common.output import text_of
    from spark_app.daily.violation_lifecycle import Step, acknowledge
    from spark_app.daily.violation_report import ViolationFilter, open_per_serial, query_violations
    from spark_app.people.notify import notify_days
    from spark_app.people.registry import EquipmentRegistry
    from spark_app.people.routes import RouteStore
    from spark_app.people.silences import SilenceStore

    _step("people: the registry, severities, routes and a silence")
    with engine.connect() as connection:
        serials = list(connection.execute(select(Violation.serial_number).distinct()
                                          .order_by(Violation.serial_number)).scalars())
    registry = config.var_dir / "demo" / "equipment.csv"
    with registry.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["serial_number", "model", "site", "team"])
        for n, serial in enumerate(serials[:-1]):  # the last one stays unknown
            writer.writerow([serial, serial.rstrip("0123456789"), ("north", "south")[n % 2],
                             ("hydraulics", "engines")[n % 3 != 0]])
    result = EquipmentRegistry(engine).import_csv(registry)
    print(f"  registry: {result.added} new, {result.updated} updated from {registry} "
          f"({serials[-1]} left out: its violations show site and team unknown)")
    with engine.begin() as connection:  # the demo's rules: one critical, two info
        connection.execute(update(Rule).where(Rule.id == 1).values(
            severity="critical", action="Stop the machine and call the on-duty technician"))
        connection.execute(update(Rule).where(Rule.id.in_((2, 7))).values(severity="info"))
    routes = RouteStore(engine)
    if not routes.list():
        for to, filters in DEMO_ROUTES:
            routes.add(to, **filters)
    for route in routes.list():
        print(f"  route {route.id}: {','.join(route.recipients)} site={route.site or '*'} "
              f"team={route.team or '*'} min severity {route.min_severity}")
    silences = SilenceStore(engine)
    if not silences.list():
        silences.add(serial_number=serials[1], starts=datetime.combine(days[0], datetime.min.time()),
                     until=datetime.combine(days[-1], datetime.min.time()) + timedelta(days=2),
                     reason="planned maintenance", created_by="demo")
    for silence in silences.list():
        print(f"  silence {silence.id}: {silence.scope} {silence.starts_at} – {silence.ends_at}"
              f" ({silence.reason})")

    _step("the daily digests (fleetwatch notify --force: the demo's days are years old)")
    sink = config.settings(SmtpSettings).sink_dir
    before = set(sink.glob("*.eml"))
    notify_days(config, days, sys.stdout, force=True)
    digests = sorted(set(sink.glob("*.eml")) - before, key=lambda path: path.stat().st_mtime)
    from email import message_from_bytes, policy

    for path in digests:
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        print(f"  {path.name}: To {message['To']}: {message['Subject']}")
    if digests:
        message = message_from_bytes(digests[0].read_bytes(), policy=policy.default)
        text = message.get_body(preferencelist=("plain",)).get_content().splitlines()
        print("\n  " + "\n  ".join(text[:18]) + ("\n  …" if len(text) > 18 else ""))

    _step("one violation acknowledged, one silenced, the open ones per serial")
    if not query_violations(engine, ViolationFilter(state="acknowledged")):
        [first, *_] = query_violations(engine, ViolationFilter(rule_id=1, state="open"))
        acknowledge(engine, [first["id"]], Step(datetime.now(UTC), "demo",
                                             "technician on the way"))
    for row in query_violations(engine, ViolationFilter(state="acknowledged")):
        print(f"  acknowledged: violation {row['id']} rule {row['rule_id']} "
              f"{row['serial_number']} {text_of(row['timestamp'])} ({row['site']}, {row['team']})")
    silenced = [row for row in query_violations(engine, ViolationFilter(serial=serials[1]))
                if row["silenced"]]
    print(f"  silenced: {len(silenced)} violation(s) of {serials[1]}, stored and listed, "
          "in no digest")
    print("  open violations per serial (fleetwatch violations open), oldest first:")
    for record in open_per_serial(engine, datetime.now(UTC))[:5]:
        print(f"    {record['serial_number']}  {record['site'] or 'unknown':<6} "
              f"{record['team'] or 'unknown':<11} {record['open_count']:>3} open "
              f"{record['acknowledged_count']:>2} acknowledged, oldest {record['age_days']} days")


def _demo_report(config: Config) -> None:
    """The fleet report of the demo's days, the last thing the demo does."""
    from spark_app.report.build import gather, write_page
    from spark_app.report.settings import ReportSettings

    _step("the fleet report")
    data = gather(config, None, config.settings(ReportSettings).days)
    path = write_page(data, config.settings(ReportSettings).path_for(data.period.last))
    print(f"  {path}    open it in a browser (it needs no network)")


def _demo_authoring(engine, first: date, last: date) -> None:
    """A technician's loop: backtest a draft (a stored pair rule with its window
    doubled) over the days just run, against the stored rule, then explain one
    of the stored rule's violations by its witness faults."""
    import subprocess
    import sys

    from sqlalchemy import func, select

    from rules.ast import And, Rule, render
    from rules.parser import parse_rule
    from schemas.relational import Violation
    from spark_app.daily.rule_store import RuleStore

    stored = next((rule for rule in RuleStore(engine).list()
                   if isinstance(parse_rule(rule.expression).expr, And)), None)
    if stored is None:
        return
    parsed = parse_rule(stored.expression)
    draft = render(Rule(And(parsed.expr.left, parsed.expr.right, 2 * parsed.expr.window_ms),
                        parsed.tti_ms))
    fleetwatch = [sys.executable, "-m", "spark_app.cli"]
    _step(f"backtest a draft of rule {stored.id} over the days received, against it")
    command = ["rules", "backtest", draft, "--model", stored.model, "--from", str(first),
               "--to", str(last), "--against", str(stored.id)]
    print("$ fleetwatch " + " ".join(f"'{arg}'" if " " in arg else arg for arg in command),
          flush=True)
    subprocess.run([*fleetwatch, *command], check=True)
    with engine.connect() as connection:
        violation_id = connection.execute(select(func.max(Violation.id)).where(
            Violation.rule_id == stored.id)).scalar()
    if violation_id is None:
        return
    _step(f"why violation {violation_id} exists")
    print(f"$ fleetwatch violations explain {violation_id}", flush=True)
    subprocess.run([*fleetwatch, "violations", "explain", str(violation_id)], check=True)


def _demo_stream(config: Config) -> None:
    """The live temperature watch over 15 minutes of simulated readings from 12
    engines, one of them hot; the alert e-mail lands in the local SMTP sink."""
    import subprocess
    import sys

    readings = config.var_dir / "demo" / "readings"
    _step("the temperature watch: 12 engines, EQ-0007 running hot")
    fleetwatch = [sys.executable, "-m", "spark_app.cli"]
    subprocess.run([*fleetwatch, "simulate", "temperatures", "--out", str(readings),
                    "--equipment", "12", "--rate", "0.2", "--hot", "EQ-0007",
                    "--duration", "900", "--seed", "7"], check=True)
    subprocess.run([*fleetwatch, "stream", "--source", str(readings), "--available-now"],
                   check=True)
    mails = sorted(config.settings(SmtpSettings).sink_dir.glob("*.eml"),
                   key=lambda path: path.stat().st_mtime)
    if not mails:
        print("no e-mail received (is the local SMTP sink running? fleetwatch services status)")
        return
    from email import message_from_bytes, policy

    message = message_from_bytes(mails[-1].read_bytes(), policy=policy.default)
    print(f"\n{len(mails)} e-mail(s) in {mails[-1].parent}; the latest, {mails[-1].name}:")
    for header in ("From", "To", "Subject", "Date"):
        print(f"  {header}: {message[header]}")
    print("\n  " + message.get_content().strip().replace("\n", "\n  "))
