"""The e-mail backend used when no mail server is configured: nothing is sent or shown."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend

log = logging.getLogger(__name__)


def _domain(address: str) -> str:
    return address.rpartition("@")[2].strip("> ") or "?"


class UnsentMailBackend(BaseEmailBackend):
    """Drops every message and logs only its subject and the recipients' domains.

    The body is never logged: it may hold a password-reset or verification link, and
    logs are read by more people than the mailbox's owner.
    """

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        for message in email_messages:
            domains = sorted({_domain(a) for a in message.recipients()})
            log.warning(
                "e-mail not sent (no EMAIL_HOST configured): %r to %s",
                message.subject,
                ", ".join(domains) or "nobody",
            )
        return 0
