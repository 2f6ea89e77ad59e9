"""The running temperature stream and a Cassandra node that stalls (as in a long
GC pause or an overload): the suite's real node is SIGSTOPped for longer than
the stream's (short, test-configured) request timeouts, then SIGCONTed.

- Within the retries: each failing step is retried in place; the stream keeps
  running, stores every window and the alert state, and the loopback SMTP
  server receives exactly one e-mail.
- Past them: the stream stops and says why; started again, it resumes from its
  checkpoint with the failed batch, and still nothing is sent twice."""

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


@pytest.fixture
def short_connector_timeout(spark):
    spark.conf.set(CONNECTOR_TIMEOUT, "2000")
    yield
    spark.conf.unset(CONNECTOR_TIMEOUT)


def stalling_config(tmp_path, smtp_port, attempts: int):
    return stream_config(
        tmp_path, smtp_port,
        FLEETWATCH_CASSANDRA_REQUEST_TIMEOUT_S="2",
        FLEETWATCH_STREAM_TRIGGER="1 second",
        FLEETWATCH_STREAM_CASSANDRA_RETRY_ATTEMPTS=str(attempts),
        FLEETWATCH_STREAM_CASSANDRA_RETRY_BACKOFF_S="0.5",
        FLEETWATCH_STREAM_CASSANDRA_RETRY_BACKOFF_MAX_S="2")


class StreamThread(threading.Thread):
    """`fleetwatch stream` (running until stopped) on the suite's Spark; keeps
    its report, or the exception that ended it."""

    def __init__(self, config, spark):
        super().__init__(name="stream under test")
        self.config, self.spark = config, spark
        self.stop = threading.Event()
        self.report = self.error = None

    def run(self):
        try:
            self.report = stream_main.run(self.config, available_now=False, stop=self.stop,
                                          spark=self.spark)
        except Exception as error:  # noqa: BLE001 - the test asserts on it
            self.error = error

    def finish(self):
        self.stop.set()
        self.join()


def wait_until(condition, what: str):
    deadline = time.monotonic() + PATIENCE_S
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting: {what}"
        time.sleep(0.5)


def stored_windows(cassandra, equipment_id):
    return list(cassandra.execute(
        cassandra.prepare("SELECT window_start, readings FROM temperature_windows "
                          "WHERE equipment_id = ?"), (equipment_id,)))


def test_stream_keeps_running_through_a_stalled_node_and_mails_once(
        config, spark, cassandra, short_connector_timeout, tmp_path, caplog):
    hot = unique_id("HOT-STALL")
    readings = tmp_path / "readings"
    node_pid = LocalCassandra(config).pid()
    assert node_pid, "the suite's Cassandra node runs from this project's var folder"
    caplog.set_level(logging.WARNING, logger="fleetwatch.cassandra")
    with new_sink(tmp_path) as sink:
        stream = StreamThread(stalling_config(tmp_path, sink.port, attempts=40), spark)
        # 10:00-10:10 normal: the stream is running and has stored its windows
        drop_file(readings, "a.jsonl", reading_lines(hot, "EX200", 0, 10, 60.0))
        stream.start()
        try:
            wait_until(lambda: stored_windows(cassandra, hot) or stream.error,
                       "the first windows stored")
            # 10:10-10:20 hot, read while the node is stopped: the Cassandra steps
            # time out, and are retried until the node answers again
            os.kill(node_pid, signal.SIGSTOP)
            try:
                drop_file(readings, "b.jsonl", reading_lines(hot, "EX200", 10, 20, 150.0))
                wait_until(lambda: retries_logged(caplog) or stream.error,
                           "a retried Cassandra step")
            finally:
                os.kill(node_pid, signal.SIGCONT)
            wait_until(lambda: emails_about(sink, hot) or stream.error, "the alert e-mail")
            assert stream.error is None and stream.is_alive(), "the stream kept running"
        finally:
            stream.finish()
        assert stream.error is None, stream.error
        mails = emails_about(sink, hot)

    assert [mail["X-Fleetwatch-Kind"] for mail in mails] == ["alert"]
    assert stream.report.notices["alert"] == 1
    # every reading in its windows: 40 readings 10:00-10:20, each in 10 of the 29
    # windows starting 09:51 ... 10:19
    windows = stored_windows(cassandra, hot)
    assert len(windows) == 29 and sum(window.readings for window in windows) == 400
    state = alert_state(cassandra, hot)
    assert state.alerting is True and state.notices == 1


def test_a_stall_past_the_retries_stops_the_stream_which_resumes_from_its_checkpoint(
        config, spark, cassandra, short_connector_timeout, tmp_path):
    hot = unique_id("HOT-GIVEUP")
    readings = tmp_path / "readings"
    node_pid = LocalCassandra(config).pid()
    with new_sink(tmp_path) as sink:
        stream_settings = stalling_config(tmp_path, sink.port, attempts=2)
        stream = StreamThread(stream_settings, spark)
        # 10:00-10:20, hot from 10:10: alerted, and the e-mail marked sent
        drop_file(readings, "a.jsonl", reading_lines(hot, "EX200", 0, 10, 60.0)
                  + reading_lines(hot, "EX200", 10, 20, 150.0))
        stream.start()
        try:
            wait_until(lambda: sent_emails(cassandra, hot) or stream.error,
                       "the alert e-mail sent")
            # 10:20-10:30 still hot, read while the node is stopped past 2 attempts
            os.kill(node_pid, signal.SIGSTOP)
            try:
                drop_file(readings, "b.jsonl", reading_lines(hot, "EX200", 20, 30, 150.0))
                wait_until(lambda: not stream.is_alive(), "the stream stopping")
            finally:
                os.kill(node_pid, signal.SIGCONT)
        finally:
            stream.finish()
        assert "Cassandra still failing after 2 attempts (stream.cassandra_retry_attempts)" \
            in str(stream.error)
        assert str(stream.error).startswith("the temperature_windows query stopped in batch ")
        assert str(stream.error).endswith(
            "started again, the stream resumes from its checkpoint with that batch")

        again = stream_main.run(stream_settings, available_now=True, spark=spark)
        mails = emails_about(sink, hot)

    assert [mail["X-Fleetwatch-Kind"] for mail in mails] == ["alert"]
    assert again.emails_sent == 0 and sum(again.notices.values()) == 0
    # the replayed batch stored its windows: 60 readings 10:00-10:30, each in 10 of
    # the 39 windows starting 09:51 ... 10:29
    windows = stored_windows(cassandra, hot)
    assert len(windows) == 39 and sum(window.readings for window in windows) == 600
    state = alert_state(cassandra, hot)
    assert state.alerting is True and state.notices == 1


def alert_state(cassandra, equipment_id):
    return cassandra.execute(
        cassandra.prepare("SELECT alerting, notices FROM temperature_alerts "
                          "WHERE equipment_id = ?"), (equipment_id,)).one()


def sent_emails(cassandra, equipment_id) -> list:
    return [row for row in cassandra.execute("SELECT equipment_id, sent_at FROM mail_outbox")
            if row.equipment_id == equipment_id and row.sent_at is not None]


def retries_logged(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records
            if record.name == "fleetwatch.cassandra" and "failed (attempt" in record.getMessage()]
