"""SmtpMailer's settings: the password stays out of its printed form, and a
login that would send it in clear is refused before any connection."""

import pytest

from spark_app.alerts.smtp import SmtpMailer
from spark_app.common.config import ConfigError


def test_the_password_is_not_in_the_printed_settings():
    mailer = SmtpMailer("relay.plant", 587, starttls=True, username="fw", password="hunter2")
    assert "hunter2" not in repr(mailer) and "hunter2" not in str(mailer)


@pytest.mark.parametrize("settings", [{"starttls": True}, {"implicit_tls": True},
                                      {"allow_plaintext_password": True}])
def test_a_login_is_allowed_over_tls_or_with_the_opt_in(settings):
    assert SmtpMailer("relay.plant", 25, username="fw", password="pw", **settings).username == "fw"


def test_a_login_without_tls_or_opt_in_is_refused():
    with pytest.raises(ConfigError, match=r"smtp\.starttls .*smtp\.ssl .*"
                                          r"smtp\.allow_plaintext_password"):
        SmtpMailer("relay.plant", 25, username="fw", password="pw")


def test_no_login_needs_no_tls():
    assert not SmtpMailer("127.0.0.1", 8025).encrypted
