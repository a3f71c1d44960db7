"""Alerts to the operator (``[schedule] alert_email``), sent through the configured provider."""

from __future__ import annotations

import html
import logging
import time

from newsletter.config import Settings
from newsletter.providers.base import Message
from newsletter.providers.registry import make_provider

log = logging.getLogger("newsletter.alerts")


def alert(settings: Settings, subject: str, body: str) -> bool:
    """Email the operator; False (and a log line) when no alert address is set or it failed."""
    to = settings.schedule.alert_email
    if not to:
        log.warning("no [schedule] alert_email set; alert not emailed: %s", subject)
        return False
    message = Message(
        delivery_id=int(time.time() * 1000),
        to=to,
        subject=f"[{settings.newsletter.name}] {subject}",
        html=f"<p>{html.escape(body)}</p>",
        text=body + "\n",
        headers={},
        metadata={"edition": "alerts"},
    )
    provider = make_provider(settings)
    try:
        (result,) = provider.send_batch([message], batch_key=f"alert-{message.delivery_id}")
    except Exception:  # an alert must never take the scheduler down
        log.exception("could not send the alert %r to %s", subject, to)
        return False
    finally:
        provider.close()
    if not result.ok:
        log.error("the alert %r to %s was refused: %s", subject, to, result.error)
    return result.ok
