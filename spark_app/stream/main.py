"""Running the temperature stream: the same code behind `fleetwatch stream` and
`spark-submit spark_app/stream/entry.py [--source DIR|kafka] [--available-now]`.

Without --available-now it runs until stopped (Ctrl-C or SIGTERM stop the
queries cleanly); with it, it processes what is there and exits.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from spark_app.common.config import Config, ConfigError, load_config
from spark_app.common.log_setup import add_logging_options, chosen_level, configure_logging
from spark_app.common.settings import CassandraSettings

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--source", metavar="DIR|kafka",
                        help="a folder of reading files, or 'kafka' for stream.kafka_topic "
                             "(default: stream.source)")
    parser.add_argument("--available-now", action="store_true",
                        help="process everything present, then exit")


def run(config: Config, available_now: bool, stop: threading.Event | None = None,
        spark=None):
    """Runs the stream with its own Cassandra and database connections (and its
    own SparkSession unless one is given); returns the StreamReport."""
    from cassandra.policies import ConstantReconnectionPolicy

    from spark_app.common.cassandra_session import cluster_from_config
    from spark_app.common.relational import engine_from_config
    from spark_app.common.spark_session import build_spark_session
    from spark_app.stream.job import TemperatureStream
    from spark_app.stream.settings import StreamSettings

    settings = StreamSettings.from_config(config)
    # Reconnect every second while a node is down: the driver's default backs off
    # to minutes, longer than the batch's retries wait for a node back from a stall.
    cluster = cluster_from_config(
        config, reconnection_policy=ConstantReconnectionPolicy(1.0, max_attempts=None))
    own_spark = False
    try:
        # Cassandra first: a missing keyspace or a refused login is told before
        # the JVM has taken its time to start
        session = cluster.connect(config.settings(CassandraSettings).keyspace)
        own_spark = spark is None
        if own_spark:
            spark = build_spark_session(config, app_name="fleetwatch-stream")
        if stop is not None:
            _stop_on_signals(stop)
        stream = TemperatureStream(spark, config, settings, session, engine_from_config(config))
        return stream.run(available_now, stop)
    finally:
        cluster.shutdown()
        if own_spark:
            spark.stop()


def _stop_on_signals(stop: threading.Event) -> None:
    """Ctrl-C and SIGTERM (a supervisor, spark-submit's kill) end the run cleanly:
    the queries stop between micro-batches. Installed after the SparkContext,
    whose own Ctrl-C handler would cancel every running job mid-batch."""
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())


def describe(report) -> str:
    windows = report.metrics.get("temperature_windows", {})
    lines = [
        f"readings: {windows.get('readings_valid', 0)} accepted, "
        f"{windows.get('readings_rejected', 0)} rejected (kept in rejected_readings), "
        f"{windows.get('rows_dropped_by_watermark', 0)} window rows dropped as too late",
        f"windows: {report.windows_evaluated} evaluated for alerts, {report.stale_windows} "
        "skipped as older than an equipment's last evaluated window, in "
        f"{windows.get('batches', 0)} batches",
        "notices: " + (", ".join(f"{count} {kind}" for kind, count in
                                 sorted(report.notices.items())) or "none"),
        f"e-mail: {report.emails_sent} sent, {report.emails_pending} pending in the outbox"
        + (f" (last error: {report.last_delivery_error})" if report.last_delivery_error else ""),
    ]
    if report.metrics_errors:
        lines.append(f"metrics: {report.metrics_errors} batch(es) could not be recorded")
    return "\n".join(lines)


def run_from_args(args) -> int:
    from spark_app.stream.settings import with_stream_source

    config = with_stream_source(load_config(args.config), args.source)
    stop = threading.Event()
    report = run(config, args.available_now, stop)
    if stop.is_set():
        log.info("stream stopped")
    print(describe(report))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fleetwatch-stream",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--config", metavar="FILE")
    add_logging_options(parser)
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        configure_logging(chosen_level(args.log_level))
    except ValueError as error:  # a bad FLEETWATCH_LOG_LEVEL
        parser.error(str(error))
    from spark_app.stream.job import StreamStopped

    try:
        return run_from_args(args)
    except ConfigError as error:
        print(f"stream: configuration error: {error}", file=sys.stderr)
        return 2
    except StreamStopped as error:
        print(f"stream: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
