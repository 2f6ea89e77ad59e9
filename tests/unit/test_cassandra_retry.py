"""Retrying the stream's driver-side Cassandra steps: which failures are
transient, how many attempts, how long between them, and what is said. Pure:
the steps raise the driver's own exceptions, the sleep is recorded, not slept."""

import logging

import pytest
from cassandra import (
    AuthenticationFailed,
    InvalidRequest,
    OperationTimedOut,
    ReadTimeout,
    Unavailable,
    WriteTimeout,
)
from cassandra.cluster import NoHostAvailable

from spark_app.common.cassandra_retry import ONCE, CassandraRetry, CassandraStillFailing
from spark_app.common.cassandra_session import transient_failure
from spark_app.common.config import ConfigError, load_config
from spark_app.stream.settings import StreamSettings

HOST = "127.0.0.1:9042"


def client_timeout():
    return OperationTimedOut(errors={HOST: "Client request timeout"}, last_host=HOST)


class FlakyStep:
    """Fails with each of `failures` in turn, then returns "done"."""

    def __init__(self, *failures: BaseException):
        self.failures = list(failures)
        self.calls = 0

    def __call__(self):
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return "done"


class SparkJobFailure(Exception):
    """A stand-in for pyspark's CapturedException (which needs a JVM to exist):
    what matters is that it comes from pyspark and carries the Java text."""
    __module__ = "pyspark.errors.exceptions.captured"


def retry(attempts=5, backoff_s=1.0, backoff_max_s=30.0):
    sleeps = []
    return CassandraRetry(attempts, backoff_s, backoff_max_s, "stream.cassandra_retry_attempts",
                          sleep=sleeps.append), sleeps


@pytest.mark.parametrize("error", [
    client_timeout(),
    WriteTimeout("Coordinator node timed out waiting for replica nodes' responses", write_type=0),
    ReadTimeout("Coordinator node timed out waiting for replica nodes' responses"),
    Unavailable("Cannot achieve consistency level LOCAL_QUORUM"),
    NoHostAvailable("Unable to connect to any servers",
                    {HOST: ConnectionRefusedError(111, "Connection refused")}),
    SparkJobFailure("An error occurred while calling o93.save.\n: java.io.IOException\n"
                    "Caused by: com.datastax.oss.driver.api.core.DriverTimeoutException: "
                    "Query timed out after PT2S"),
    # the connector's session while its node does not answer (seen under SIGSTOP)
    SparkJobFailure("An error occurred while calling o551.save.\n: java.lang.IllegalStateException: "
                    "Control channel not available, aborting schema refresh"),
])
def test_timeouts_and_unreachable_nodes_are_transient(error):
    assert transient_failure(error) is True


@pytest.mark.parametrize("error", [
    NoHostAvailable("Unable to connect to any servers",
                    {HOST: AuthenticationFailed("Provided username fleet and/or password "
                                                "are incorrect")}),
    InvalidRequest("Error from server: code=2200 [Invalid query] "
                   "message=\"unconfigured table temperature_alerts\""),
    InvalidRequest("Keyspace 'fleetwatch' does not exist"),
    SparkJobFailure("Caused by: com.datastax.oss.driver.api.core.AllNodesFailedException: "
                    "All 1 node(s) tried for the query failed (showing first 1): "
                    "AuthenticationException: Authentication error on node"),
    ValueError("not Cassandra's"),
])
def test_refusals_missing_schema_and_other_errors_are_not_transient(error):
    assert transient_failure(error) is False


def test_a_transient_failure_is_retried_with_doubling_backoff_until_the_step_succeeds():
    policy, sleeps = retry(attempts=5, backoff_s=1.0)
    step = FlakyStep(client_timeout(), client_timeout(), client_timeout())
    assert policy.call("saving alert states", step) == "done"
    assert step.calls == 4
    assert sleeps == [1.0, 2.0, 4.0]


def test_backoff_stops_growing_at_its_maximum():
    policy, sleeps = retry(attempts=6, backoff_s=2.0, backoff_max_s=5.0)
    step = FlakyStep(*[client_timeout() for _ in range(5)])
    assert policy.call("saving alert states", step) == "done"
    assert sleeps == [2.0, 4.0, 5.0, 5.0, 5.0]


def test_when_attempts_run_out_the_failure_says_what_how_often_and_why():
    policy, sleeps = retry(attempts=3, backoff_s=1.0)
    step = FlakyStep(*[client_timeout() for _ in range(3)])
    with pytest.raises(CassandraStillFailing) as raised:
        policy.call("saving alert states", step)
    assert step.calls == 3 and sleeps == [1.0, 2.0]
    assert str(raised.value).startswith(
        "saving alert states: Cassandra still failing after 3 attempts "
        "(stream.cassandra_retry_attempts): OperationTimedOut: ")
    assert isinstance(raised.value.__cause__, OperationTimedOut)


@pytest.mark.parametrize("error", [
    NoHostAvailable("Unable to connect to any servers", {HOST: AuthenticationFailed("bad login")}),
    InvalidRequest("unconfigured table mail_outbox"),
])
def test_a_failure_no_retry_cures_is_raised_at_once_as_it_is(error):
    policy, sleeps = retry(attempts=5)
    step = FlakyStep(error)
    with pytest.raises(type(error)) as raised:
        policy.call("queuing e-mails", step)
    assert raised.value is error
    assert step.calls == 1 and sleeps == []


def test_each_retry_is_logged_with_its_reason(caplog):
    policy, _ = retry(attempts=3, backoff_s=0.5)
    step = FlakyStep(client_timeout(), Unavailable("Cannot achieve consistency level ONE"))
    with caplog.at_level(logging.WARNING, logger="fleetwatch.cassandra"):
        policy.call("marking an e-mail sent", step)
    assert [record.getMessage() for record in caplog.records] == [
        "marking an e-mail sent failed (attempt 1 of 3: OperationTimedOut: errors="
        "{'127.0.0.1:9042': 'Client request timeout'}, last_host=127.0.0.1:9042); "
        "retrying in 0.5s",
        "marking an e-mail sent failed (attempt 2 of 3: Unavailable: Cannot achieve "
        "consistency level ONE info={'consistency': 'Not Set', 'required_replicas': None, "
        "'alive_replicas': None}); retrying in 1.0s",
    ]


def test_once_tries_one_time_and_raises_the_drivers_own_error():
    step = FlakyStep(client_timeout())
    with pytest.raises(OperationTimedOut):
        ONCE.call("reading the pending e-mails", step)
    assert step.calls == 1


def test_stream_settings_carry_the_retry_and_refuse_a_zero_attempt_count():
    settings = StreamSettings.from_config(load_config(environ={
        "FLEETWATCH_STREAM_CASSANDRA_RETRY_ATTEMPTS": "4",
        "FLEETWATCH_STREAM_CASSANDRA_RETRY_BACKOFF_S": "0.25"}))
    assert (settings.cassandra_retry.attempts, settings.cassandra_retry.backoff_s,
            settings.cassandra_retry.backoff_max_s) == (4, 0.25, 30.0)
    with pytest.raises(ConfigError, match="FLEETWATCH_STREAM_CASSANDRA_RETRY_ATTEMPTS"):
        StreamSettings.from_config(load_config(environ={
            "FLEETWATCH_STREAM_CASSANDRA_RETRY_ATTEMPTS": "0"}))
