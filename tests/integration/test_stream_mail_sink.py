"""The loopback SMTP sink as a background service (what `fleetwatch services`
starts): one process however often it is started, every message kept as a
.eml file, stop ends exactly that process."""

from email.message import EmailMessage
from pathlib import Path

from spark_app.alerts.smtp import SmtpMailer
from spark_app.common.config import load_config
from spark_app.services.mail_sink import LocalMailSink
from spark_app.services.smtp_sink import read_message, stored_files
from tests.support.kafka import free_port


def test_sink_service_keeps_messages_and_stops_exactly_its_process(tmp_path):
    port = free_port()
    config = load_config(environ={"FLEETWATCH_PATHS_VAR_DIR": str(tmp_path / "var"),
                                  "FLEETWATCH_SMTP_PORT": str(port),
                                  "FLEETWATCH_SMTP_SINK_DIR": str(tmp_path / "mail")})
    sink = LocalMailSink(config)
    assert sink.wanted and sink.status().pid is None
    try:
        sink.start(echo=lambda *_: None)
        pid = sink.pid()
        assert pid and sink.status().answering
        sink.start(echo=lambda *_: None)
        assert sink.pid() == pid, "a second start must not start another sink"

        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = "fw@x", "ops@x", "hot °C"
        message.set_content("EX-1 runs hot")
        with SmtpMailer.from_config(config).connect() as connection:
            connection.send_message(message)
        [stored] = stored_files(tmp_path / "mail")
        assert read_message(stored)["Subject"] == "hot °C"
    finally:
        assert sink.stop(echo=lambda *_: None)
    assert sink.pid() is None and not sink.status().answering
    assert not Path(f"/proc/{pid}").exists() or \
        Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"
    assert not sink.stop(echo=lambda *_: None)


def test_no_sink_when_smtp_is_a_real_relay():
    config = load_config(environ={"FLEETWATCH_SMTP_HOST": "smtp.plant.example"})
    assert not LocalMailSink(config).wanted
