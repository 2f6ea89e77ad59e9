"""SMTP logins against the loopback sink standing in for a relay that wants
TLS and a password: the password only travels encrypted, checked against a
certificate of a private CA given by smtp.ca_file, unless the documented
opt-in accepts sending it in clear."""

import smtplib
import ssl
from email.message import EmailMessage

import pytest

from spark_app.alerts.smtp import SmtpMailer
from spark_app.common.config import ConfigError, load_config
from spark_app.services.smtp_sink import LoginAttempt, MailSink
from tests.support.kafka import free_port
from tests.support.tls import private_ca

PASSWORD = "smtp-Pa55-word"


@pytest.fixture(scope="module")
def ca(tmp_path_factory):
    return private_ca(tmp_path_factory.mktemp("smtp-ca"))


@pytest.fixture
def server_tls(ca):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(ca.server.cert, ca.server.key)
    return context


@pytest.fixture(autouse=True)
def smtp_password(monkeypatch):
    monkeypatch.setenv("FLEETWATCH_SMTP_PASSWORD", PASSWORD)


def mailer(port: int, **settings: str) -> SmtpMailer:
    environ = {"FLEETWATCH_SMTP_PORT": str(port), "FLEETWATCH_SMTP_USERNAME": "alerts",
               **{f"FLEETWATCH_SMTP_{key.upper()}": value for key, value in settings.items()}}
    return SmtpMailer.from_config(load_config(environ=environ))


def send_one(smtp: SmtpMailer, subject: str) -> None:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "fw@x", "ops@x", subject
    message.set_content("EX-1 runs hot")
    with smtp.connect() as connection:
        connection.send_message(message)


def test_starttls_and_login_with_a_private_ca(tmp_path, ca, server_tls):
    port = free_port()
    with MailSink(tmp_path / "mail", port=port, tls=server_tls,
                  logins={"alerts": PASSWORD}) as sink:
        send_one(mailer(port, starttls="true", ca_file=str(ca.ca_cert)), "over STARTTLS")
        assert [m["Subject"] for m in sink.messages()] == ["over STARTTLS"]
        assert sink.login_attempts == [LoginAttempt("alerts", over_tls=True, accepted=True)]


def test_implicit_tls_and_login_with_a_private_ca(tmp_path, ca, server_tls):
    port = free_port()
    with MailSink(tmp_path / "mail", port=port, tls=server_tls, implicit_tls=True,
                  logins={"alerts": PASSWORD}) as sink:
        send_one(mailer(port, ssl="true", ca_file=str(ca.ca_cert)), "over TLS")
        assert [m["Subject"] for m in sink.messages()] == ["over TLS"]
        assert sink.login_attempts == [LoginAttempt("alerts", over_tls=True, accepted=True)]


def test_a_certificate_of_an_unknown_ca_is_refused_before_login(tmp_path, server_tls):
    port = free_port()
    with MailSink(tmp_path / "mail", port=port, tls=server_tls,
                  logins={"alerts": PASSWORD}) as sink:
        with pytest.raises(ssl.SSLCertVerificationError):
            send_one(mailer(port, starttls="true"), "system trust store only")
        assert sink.login_attempts == [] and sink.messages() == []


def test_a_wrong_password_is_refused_by_the_server(tmp_path, ca, server_tls, monkeypatch):
    port = free_port()
    monkeypatch.setenv("FLEETWATCH_SMTP_PASSWORD", "not-it")
    with MailSink(tmp_path / "mail", port=port, tls=server_tls,
                  logins={"alerts": PASSWORD}) as sink:
        with pytest.raises(smtplib.SMTPAuthenticationError):
            send_one(mailer(port, starttls="true", ca_file=str(ca.ca_cert)), "wrong password")
        # smtplib tries each mechanism the server offers (PLAIN, then LOGIN)
        assert sink.login_attempts == [LoginAttempt("alerts", over_tls=True, accepted=False)] * 2
        assert sink.messages() == []


def test_a_login_without_tls_is_refused_and_nothing_reaches_the_server(tmp_path):
    port = free_port()
    with MailSink(tmp_path / "mail", port=port, logins={"alerts": PASSWORD}) as sink:
        with pytest.raises(ConfigError, match=r"smtp\.allow_plaintext_password") as refused:
            send_one(mailer(port), "in clear")
        assert "unencrypted" in str(refused.value) and PASSWORD not in str(refused.value)
        assert sink.login_attempts == [] and sink.messages() == []


def test_the_plaintext_opt_in_logs_in_without_tls(tmp_path):
    port = free_port()
    with MailSink(tmp_path / "mail", port=port, logins={"alerts": PASSWORD}) as sink:
        send_one(mailer(port, allow_plaintext_password="true"), "in clear, accepted")
        assert [m["Subject"] for m in sink.messages()] == ["in clear, accepted"]
        assert sink.login_attempts == [LoginAttempt("alerts", over_tls=False, accepted=True)]
