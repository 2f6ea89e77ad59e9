"""The Kafka source and `simulate temperatures --kafka` against a real broker that
takes only SASL_SSL (PLAIN login, a certificate from a private CA): the readings
get through with the password from the environment, a wrong password does not,
and the password shows up in no command line, output or file of the run."""

from __future__ import annotations

import re
import secrets
import subprocess
import sys
import time
from pathlib import Path

import pytest

from spark_app.services.process import free_port
from tests.support.kafka import kafka_broker
from tests.support.stream import stream_config, stream_environment, unique_id
from tests.support.tls import key_store, private_ca

pytestmark = pytest.mark.slow
FLEETWATCH = [sys.executable, "-m", "spark_app.cli"]
USER = "fleetwatch"


@pytest.fixture(scope="module")
def secure_broker(config, tmp_path_factory):
    """(bootstrap, CA file, the user's password) of a broker listening on SASL_SSL only."""
    work = tmp_path_factory.mktemp("kafka-sasl")
    ca = private_ca(work / "tls")
    store_password, password = secrets.token_urlsafe(12), secrets.token_urlsafe(16)
    keystore = key_store(ca.server, work / "server.p12", store_password)
    port, controller = free_port(), free_port()
    listener = (
        f"listeners=SASL_SSL://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller}",
        f"advertised.listeners=SASL_SSL://127.0.0.1:{port}",
        "inter.broker.listener.name=SASL_SSL",
        "listener.security.protocol.map=SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT",
        "sasl.enabled.mechanisms=PLAIN",
        "sasl.mechanism.inter.broker.protocol=PLAIN",
        "listener.name.sasl_ssl.plain.sasl.jaas.config="
        "org.apache.kafka.common.security.plain.PlainLoginModule required "
        f'username="broker" password="{store_password}" user_broker="{store_password}" '
        f'user_{USER}="{password}";',
        f"ssl.keystore.location={keystore}", "ssl.keystore.type=PKCS12",
        f"ssl.keystore.password={store_password}",
        f"ssl.truststore.location={ca.ca_cert}", "ssl.truststore.type=PEM",
    )
    with kafka_broker(config, work, ports=(port, controller), extra_properties=listener):
        yield f"127.0.0.1:{port}", ca.ca_cert, password


def command_lines() -> list[str]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            found.append(cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace"))
        except OSError:
            pass  # the process ended meanwhile
    return found


def test_readings_cross_sasl_ssl_and_the_password_is_nowhere(secure_broker, cassandra,
                                                              tmp_path):
    bootstrap, ca_file, password = secure_broker
    topic = unique_id("secure")
    sink_port = free_port()  # nothing answers there: no e-mail is expected from this run
    stream_config(tmp_path, sink_port)  # creates the relational tables
    environment = stream_environment(
        tmp_path, sink_port, FLEETWATCH_STREAM_KAFKA_BOOTSTRAP=bootstrap,
        FLEETWATCH_STREAM_KAFKA_TOPIC=topic, FLEETWATCH_KAFKA_SECURITY_PROTOCOL="SASL_SSL",
        FLEETWATCH_KAFKA_USERNAME=USER, FLEETWATCH_KAFKA_SSL_CA_FILE=str(ca_file),
        FLEETWATCH_SPARK_EVENT_LOG_DIR=str(tmp_path / "events"),
        FLEETWATCH_SPARK_UI_ENABLED="false")
    simulate = [*FLEETWATCH, "simulate", "temperatures", "--kafka", "--equipment", "2",
                "--rate", "0.2", "--duration", "300", "--start", "2024-05-01T10:00:00Z"]

    refused = subprocess.run(simulate, capture_output=True, text=True, timeout=180,
                             env={**environment, "FLEETWATCH_KAFKA_PASSWORD": "not-it"})
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert f"Kafka at {bootstrap} did not take the readings" in refused.stderr

    environment["FLEETWATCH_KAFKA_PASSWORD"] = password
    sent = subprocess.run(simulate, capture_output=True, text=True, timeout=180,
                          env=environment)
    assert sent.returncode == 0, sent.stdout + sent.stderr
    assert sent.stdout.strip() == f"sent 120 readings to topic {topic} at {bootstrap}"

    # output to files, not pipes: nobody reads a pipe while the command lines are polled
    with open(tmp_path / "stream.out", "w") as out_file, \
            open(tmp_path / "stream.err", "w") as err_file:
        stream = subprocess.Popen([*FLEETWATCH, "stream", "--source", "kafka", "--available-now"],
                                  stdout=out_file, stderr=err_file, env=environment)
        seen_in_argv = []
        while stream.poll() is None:
            seen_in_argv += [line for line in command_lines() if password in line]
            time.sleep(0.5)
    out, err = (tmp_path / "stream.out").read_text(), (tmp_path / "stream.err").read_text()
    assert stream.returncode == 0, out + err[-5000:]
    assert re.search(r"readings: 120 accepted, 0 rejected", out), out
    assert seen_in_argv == []
    assert password not in out + err + sent.stdout + sent.stderr
    written = [path for path in tmp_path.rglob("*") if path.is_file()
               and password.encode() in path.read_bytes()]
    assert written == []
    assert any((tmp_path / "events").iterdir()), "the event log (checked above) was written"
