"""People: the equipment registry, routes, silences and the daily digest of violations.
May import common and alerts (its outbox and SMTP mailer); stream and daily import it."""
