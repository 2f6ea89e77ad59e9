"""`make demo`: the embedded defaults end to end, printing what happens.
Re-running it is harmless: ingestion upserts, the daily job is rerun-safe and
the demo rules are loaded only into an empty rules table."""

from __future__ import annotations

from datetime import date, timedelta

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


def run_demo(config: Config) -> int:
    from sqlalchemy import text

    from spark_app.common.cassandra_session import apply_schema, cassandra_session
    from spark_app.common.relational import create_tables, engine_from_config
    from spark_app.daily.main import days_between, run
    from spark_app.daily.rule_store import RuleStore
    from spark_app.ingest.run import ingest
    from spark_app.services.mail_sink import local_services
    from spark_app.sim.faults import FleetSpec, simulate_faults, tag_vocabulary, write_jsonl

    _step("local services")
    for service in local_services(config):
        print(service.start().line())

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

    _demo_authoring(engine, first, last)
    _demo_stream(config)

    _step("where to look")
    print("  fleetwatch violations --format table     all violations "
          "(--day, --rule, --serial, --format csv|json)")
    print("  fleetwatch runs                          the runs, with counts; per-stage Spark "
          "metrics in job_runs.stage_metrics")
    print(f"  Spark UI                                 http://127.0.0.1:"
          f"{config.settings(SparkSettings).ui_port} while a job runs")
    print(f"  make history                             History Server over "
          f"{config.settings(SparkSettings).event_log_dir} at http://127.0.0.1:18080")
    print(f"  {config.settings(SmtpSettings).sink_dir}/*.eml    every e-mail the local SMTP server received")
    return 0


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
