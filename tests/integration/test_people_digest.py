"""The daily digest end to end: a fleet of two sites and two teams, three
routes, rules of three severities and a silence; `fleetwatch notify` against
the real SMTP sink on loopback, the real Cassandra outbox, SQLite and PostgreSQL."""

import hashlib

import pytest
from sqlalchemy import select

from schemas.relational import NotificationSent
from spark_app.common.relational import engine_for_url
from tests.support.people import DAY, fleetwatch, make_fleet
from tests.support.stream import new_sink

ROUTES = [("north@plant.example", ["--site", "north"]),
          ("hydraulics@plant.example", ["--team", "hydraulics", "--min-severity", "warning"]),
          ("critical@plant.example", ["--min-severity", "critical"])]
DEFAULT = "ops@plant.example"


@pytest.fixture
def fleet(db_url, cassandra, tmp_path):
    """The fleet, its routes and a silence of JAP002 over the day; the outbox emptied
    (digest ids repeat across tests: same day, same route ids)."""
    for table in ("mail_outbox", "mail_pending"):
        cassandra.execute(f"TRUNCATE {table}")
    sink = new_sink(tmp_path)  # not started: each test starts it when SMTP is to be up
    env = {"FLEETWATCH_DATABASE_URL": db_url, "FLEETWATCH_SMTP_PORT": str(sink.port),
           "FLEETWATCH_SMTP_TIMEOUT_S": "5", "FLEETWATCH_SMTP_RECIPIENTS": DEFAULT}
    assert fleetwatch(env, "db", "init").returncode == 0
    engine = engine_for_url(db_url)
    make_fleet(env, engine, tmp_path)
    for to, filters in ROUTES:
        assert fleetwatch(env, "routes", "add", "--to", to, *filters).returncode == 0
    silence = fleetwatch(env, "silence", "add", "--serial", "JAP002", "--from",
                         "2016-11-16T00:00:00Z", "--until", "2016-11-17T00:00:00Z",
                         "--reason", "planned maintenance", "--by", "ana")
    assert silence.returncode == 0, silence.stderr
    yield env, engine, sink
    engine.dispose()


def digests(sink) -> dict[str, list]:
    received = {}
    for message in sink.messages():
        received.setdefault(message["To"], []).append(message)
    return received


def plain(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")


def sent_ledger(engine) -> list[tuple]:
    t = NotificationSent.__table__.c
    with engine.connect() as connection:
        return [(*row[:4], row[4] is not None) for row in connection.execute(
            select(t.day, t.route_key, t.recipients, t.violations, t.sent_at)
            .order_by(t.route_key))]


def test_each_route_gets_exactly_its_violations_once(fleet, tmp_path):
    env, engine, sink = fleet
    with sink:
        sink_port_env = env
        first = fleetwatch(sink_port_env, "notify", "--day", "2016-11-16", "--force")
        assert first.returncode == 0, first.stdout + first.stderr
        received = digests(sink)
        assert sorted(received) == sorted([DEFAULT, "north@plant.example",
                                           "hydraulics@plant.example", "critical@plant.example"])
        assert all(len(messages) == 1 for messages in received.values())

        north = plain(received["north@plant.example"][0])
        assert received["north@plant.example"][0]["Subject"] == \
            "[fleetwatch] digest 2016-11-16: 4 new violation(s), worst critical"
        assert "4 new violation(s) on 2 machine(s)" in north
        assert ("CRITICAL (2)\n"
                "  rule 1 (JAP): 2 violation(s)\n"
                "    action: Stop the machine and call the hydraulics technician\n"
                "    JAP001 (site north, team hydraulics): 2 at 2016-11-16 10:00:00 – "
                "2016-11-16 10:05:00\n") in north
        assert ("WARNING (1)\n"
                "  rule 2 (JAP): 1 violation(s)\n"
                "    action: Check the filter at the next service\n"
                "    JAP001 (site north, team hydraulics): 1 at 2016-11-16 11:00:00\n") in north
        assert ("INFO (1)\n"
                "  rule 3 (KOM): 1 violation(s)\n"
                "    action: none given\n"
                "    KOM001 (site north, team engines): 1 at 2016-11-16 13:00:00\n") in north

        hydraulics = plain(received["hydraulics@plant.example"][0])
        assert "3 new violation(s) on 1 machine(s)" in hydraulics
        assert "KOM001" not in hydraulics and "INFO" not in hydraulics
        critical = plain(received["critical@plant.example"][0])
        assert "2 new violation(s) on 1 machine(s)" in critical
        assert "WARNING" not in critical
        default = plain(received[DEFAULT][0])
        assert ("    KOM999 (site unknown, team unknown): 1 at 2016-11-16 14:00:00\n") in default
        assert "1 new violation(s) on 1 machine(s)" in default
        # the silenced machine reaches nobody
        assert not any("JAP002" in plain(m[0]) for m in received.values())

        message = received["north@plant.example"][0]
        expected_id = hashlib.sha256(b"digest|2016-11-16|route:1").hexdigest()[:32]
        assert message["Message-ID"] == f"<{expected_id}@fleetwatch>"
        [chart] = [part for part in message.walk() if part.get_content_type() == "image/png"]
        assert chart.get_content()[:8] == b"\x89PNG\r\n\x1a\n"
        html = message.get_body(preferencelist=("html",)).get_content()
        assert f'src="cid:{chart["Content-ID"][1:-1]}"' in html

        assert sent_ledger(engine) == [
            (DAY, "default", DEFAULT, 1, True), (DAY, "route:1", "north@plant.example", 4, True),
            (DAY, "route:2", "hydraulics@plant.example", 3, True),
            (DAY, "route:3", "critical@plant.example", 2, True)]

        again = fleetwatch(sink_port_env, "notify", "--day", "2016-11-16", "--force")
        assert again.returncode == 0, again.stderr
        assert again.stdout.count("already sent") == 4
        assert len(sink.messages()) == 4


def test_smtp_down_then_up_delivers_each_digest_once(fleet, tmp_path):
    env, engine, sink = fleet
    down = fleetwatch(env, "notify", "--day", "2016-11-16", "--force")  # the sink is not up
    assert down.returncode == 1
    assert "4 digest(s) wait in the outbox" in down.stdout
    assert [row[-1] for row in sent_ledger(engine)] == [False, False, False, False]

    with sink:
        retry = fleetwatch(env, "notify", "--day", "2016-11-16", "--force")
        assert retry.returncode == 0, retry.stdout + retry.stderr
        assert "4 digest(s) sent" in retry.stdout
        again = fleetwatch(env, "notify", "--day", "2016-11-16", "--force")
        assert again.returncode == 0
        assert sorted(m["To"] for m in sink.messages()) == sorted(
            [DEFAULT, "north@plant.example", "hydraulics@plant.example",
             "critical@plant.example"])
    assert [row[-1] for row in sent_ledger(engine)] == [True, True, True, True]


def test_an_old_day_is_not_sent_without_force(fleet, tmp_path):
    env, engine, sink = fleet
    with sink:
        old = fleetwatch(env, "notify", "--day", "2016-11-16")
        assert old.returncode == 0
        assert "older than notify.max_age_days (3 days" in old.stdout
        assert sink.messages() == [] and sent_ledger(engine) == []
        nothing = fleetwatch(env, "notify", "--day", "2016-11-14", "--force")
        assert "no new violations to tell anyone about, nothing sent" in nothing.stdout
        assert sink.messages() == []
