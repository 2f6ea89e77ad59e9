"""The running temperature stream rides out a Cassandra node that stalls (as in
a long GC pause or an overload): the suite's real node is SIGSTOPped for longer
than the stream's (short, test-configured) request timeouts while a batch with
a breach is processed, then SIGCONTed. Each failing step is retried in place;
the stream keeps running, stores every window and the alert state, and the
loopback SMTP server receives exactly one e-mail."""

import logging
import os
import signal
import threading
import time

import pytest

from spark_app.services.cassandra import LocalCassandra
from spark_app.stream import main as stream_main
from tests.support.stream import (
    STREAM_TABLES,
    drop_file,
    emails_about,
    new_sink,
    reading_lines,
    stream_config,
    unique_id,
)

pytestmark = pytest.mark.slow

# The Spark connector's own request timeout (its default is 2 minutes): short, so
# the stall fails the windows write as well as the driver's requests.
CONNECTOR_TIMEOUT = "spark.cassandra.read.timeoutMS"
PATIENCE_S = 150  # a bound on each wait, so a broken stream fails the test instead of hanging it


@pytest.fixture(scope="module", autouse=True)
def clean_alert_tables(cassandra):
    for table in STREAM_TABLES:
        cassandra.execute(f"TRUNCATE {table}")


def wait_until(condition, what: str):
    deadline = time.monotonic() + PATIENCE_S
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting: {what}"
        time.sleep(0.5)


def stored_windows(cassandra, equipment_id):
    return list(cassandra.execute(
        cassandra.prepare("SELECT window_start, readings FROM temperature_windows "
                          "WHERE equipment_id = ?"), (equipment_id,)))


def test_stream_keeps_running_through_a_stalled_node_and_mails_once(config, spark, cassandra,
                                                                     tmp_path, caplog):
    hot = unique_id("HOT-STALL")
    readings = tmp_path / "readings"
    node_pid = LocalCassandra(config).pid()
    assert node_pid, "the suite's Cassandra node runs from this project's var folder"
    outcome = {}
    with new_sink(tmp_path) as sink:
        stream_settings = stream_config(
            tmp_path, sink.port,
            FLEETWATCH_CASSANDRA_REQUEST_TIMEOUT_S="2",
            FLEETWATCH_STREAM_TRIGGER="1 second",
            FLEETWATCH_STREAM_CASSANDRA_RETRY_ATTEMPTS="40",
            FLEETWATCH_STREAM_CASSANDRA_RETRY_BACKOFF_S="0.5",
            FLEETWATCH_STREAM_CASSANDRA_RETRY_BACKOFF_MAX_S="2")
        stop = threading.Event()

        def run_stream():
            try:
                outcome["report"] = stream_main.run(stream_settings, available_now=False,
                                                    stop=stop, spark=spark)
            except Exception as error:  # noqa: BLE001 - the test reports it below
                outcome["error"] = error

        # 10:00-10:10 normal: the stream is running and has stored its windows
        drop_file(readings, "a.jsonl", reading_lines(hot, "EX200", 0, 10, 60.0))
        spark.conf.set(CONNECTOR_TIMEOUT, "2000")
        stream = threading.Thread(target=run_stream, name="stream under test")
        caplog.set_level(logging.WARNING, logger="fleetwatch.cassandra")
        stream.start()
        try:
            wait_until(lambda: stored_windows(cassandra, hot) or "error" in outcome,
                       "the first windows stored")
            assert "error" not in outcome, outcome.get("error")

            # 10:10-10:20 hot, read while the node is stopped: the batch's Cassandra
            # steps time out, and are retried until the node answers again
            os.kill(node_pid, signal.SIGSTOP)
            try:
                drop_file(readings, "b.jsonl", reading_lines(hot, "EX200", 10, 20, 150.0))
                wait_until(lambda: retries_logged(caplog) or "error" in outcome,
                           "a retried Cassandra step")
            finally:
                os.kill(node_pid, signal.SIGCONT)

            wait_until(lambda: emails_about(sink, hot) or "error" in outcome, "the alert e-mail")
            assert "error" not in outcome, outcome.get("error")
            assert stream.is_alive(), "the stream kept running"
        finally:
            stop.set()
            stream.join()
            spark.conf.unset(CONNECTOR_TIMEOUT)
        assert "error" not in outcome, outcome.get("error")
        mails = emails_about(sink, hot)

    assert retries_logged(caplog)
    assert [mail["X-Fleetwatch-Kind"] for mail in mails] == ["alert"]
    assert outcome["report"].notices["alert"] == 1
    # every reading in its windows: 40 readings 10:00-10:20, each in 10 of the 29
    # windows starting 09:51 ... 10:19
    windows = stored_windows(cassandra, hot)
    assert len(windows) == 29 and sum(window.readings for window in windows) == 400
    state = cassandra.execute(
        cassandra.prepare("SELECT alerting, notices FROM temperature_alerts "
                          "WHERE equipment_id = ?"), (hot,)).one()
    assert state.alerting is True and state.notices == 1


def retries_logged(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records
            if record.name == "fleetwatch.cassandra" and "failed (attempt" in record.getMessage()]
