"""`fleetwatch health` (a monitoring probe: exit 1 with the reasons when
something needs operations) and `fleetwatch notify-task` (the Airflow DAGs'
failure and retry callbacks). Light to import: the work is imported when run."""

from __future__ import annotations

import sys

from spark_app.common.cli_args import EXIT_FAILURE, EXIT_OK
from spark_app.common.config import load_config
from spark_app.common.output import Column, add_format_option, write_listing
from spark_app.common.settings import CassandraSettings

COLUMNS = (Column("check"), Column("subject"), Column("reason"))


def add_commands(commands) -> None:
    health = commands.add_parser(
        "health", help="exit 1 with the reasons when a daily run is missing or failed, "
                       "or a feed has been silent too long")
    health.add_argument("--feed", action="append", default=[], metavar="URL",
                        help="a feed that must be pulled regularly (repeatable); feeds "
                             "pulled before are checked anyway")
    health.add_argument("--notify", action="store_true",
                        help="e-mail each finding once to health.recipients")
    add_format_option(health)
    health.set_defaults(handler=run_health)

    task = commands.add_parser(
        "notify-task", help="e-mail operations that an Airflow task failed or will be "
                            "retried (once per try)")
    task.add_argument("--event", required=True, choices=("failed", "retry"))
    task.add_argument("--dag", required=True, metavar="DAG_ID")
    task.add_argument("--task", required=True, metavar="TASK_ID")
    task.add_argument("--run", required=True, metavar="RUN_ID")
    task.add_argument("--try", dest="try_number", required=True, type=int, metavar="N")
    task.add_argument("--log-url", default="", metavar="URL")
    task.add_argument("--detail", default="", metavar="TEXT", help="the error, in the body")
    task.set_defaults(handler=run_notify_task)


def run_health(args) -> int:
    from datetime import UTC, datetime

    from spark_app.common.cassandra_session import cassandra_session
    from spark_app.common.relational import engine_from_config
    from spark_app.health.checks import daily_findings, days_due, feed_findings
    from spark_app.health.notify import finding_mail, send
    from spark_app.health.settings import HealthSettings
    from spark_app.ingest.feed_status import FeedStates

    config = load_config(args.config)
    settings = config.settings(HealthSettings)
    now = datetime.now(UTC)
    engine = engine_from_config(config)
    try:
        findings = daily_findings(engine, days_due(settings, now))
    finally:
        engine.dispose()
    keyspace = config.settings(CassandraSettings).keyspace
    with cassandra_session(config, keyspace) as session:
        states = FeedStates(session, keyspace).all()
        findings += feed_findings(states, args.feed, settings, now)
        if args.notify:
            report = send(session, config, [finding_mail(f, config, now) for f in findings])
            _tell(report)
    write_listing([{"check": f.check, "subject": f.subject, "reason": f.reason, "key": f.key}
                   for f in findings], COLUMNS, args.format, sys.stdout, noun="finding")
    return EXIT_FAILURE if findings else EXIT_OK


def run_notify_task(args) -> int:
    from datetime import UTC, datetime

    from spark_app.common.cassandra_session import cassandra_session
    from spark_app.health.notify import send, task_mail

    config = load_config(args.config)
    keyspace = config.settings(CassandraSettings).keyspace
    mail = task_mail(args.event, args.dag, args.task, args.run, args.try_number, args.detail,
                     args.log_url, config, datetime.now(UTC))
    with cassandra_session(config, keyspace) as session:
        report = send(session, config, [mail])
    _tell(report)
    return EXIT_OK


def _tell(report) -> None:
    """What the delivery round did, on stderr; what was not sent stays queued."""
    print(f"ops mail: {report.sent} sent, {report.already_sent} already sent, "
          f"{report.still_pending} queued for later"
          + (f" ({report.error})" if report.error else ""), file=sys.stderr)
