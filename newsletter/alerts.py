"""Telling a person: every alert goes out on every channel set in ``[alerts]``.

- ``email``: through the configured provider, like any email (which may be what failed);
- ``webhook_url``: a JSON POST ``{"text": …}`` (Slack, Mattermost, Discord bridges, ntfy);
- ``ping_url``: a dead man's switch in the healthchecks.io convention: ``<url>/start`` when a
  send starts, ``<url>`` when it ends well, ``<url>/fail`` when it does not, so a monitor
  outside notices even when no send happens at all.

Every alert is also stored (``alerts`` table) with what each channel made of it. Nothing here
ever raises: a channel that fails is logged, and the others still go. Texts are scrubbed of
secrets first.
"""

from __future__ import annotations

import html
import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import Engine

from newsletter import db
from newsletter.config import Settings
from newsletter.messages import one_off
from newsletter.models import Alert, utcnow
from newsletter.redaction import Redactor

log = logging.getLogger("newsletter.alerts")

TIMEOUT = httpx.Timeout(10.0, connect=5.0)


def alert(
    settings: Settings,
    engine: Engine | None,
    kind: str,
    subject: str,
    body: str,
    *,
    edition_id: int | None = None,
) -> dict[str, str]:
    """Raise an alert on every channel; returns channel -> "sent" | "failed: …" | "off"."""
    redact = Redactor.for_settings(settings)
    subject, body = redact(subject), redact(body)
    log.warning("alert: %s: %s", subject, body)
    channels = {
        "email": _channel(settings.alert_email, lambda: _email(settings, subject, body)),
        "webhook": _channel(
            settings.alerts.webhook_url,
            lambda: _post_json(settings.alerts.webhook_url, _text(settings, subject, body)),
        ),
    }
    if all(state == "off" for state in channels.values()):
        log.warning("no [alerts] email or webhook_url is set: nobody was told of %r", subject)
    _store(engine, kind, subject, body, edition_id, channels)
    return channels


def ping(settings: Settings, state: str, body: str = "") -> None:
    """Tell the dead man's switch: ``start``, ``success`` or ``fail`` (never raises)."""
    base = settings.alerts.ping_url.rstrip("/")
    if not base:
        return
    url = base if state == "success" else f"{base}/{state}"
    redact = Redactor.for_settings(settings)
    try:
        response = httpx.post(url, content=redact(body).encode()[:10_000], timeout=TIMEOUT)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        log.error("the %s ping to %s failed: %s", state, _host(url), redact(str(exc)))


def _channel(target: str, send: Callable[[], None]) -> str:
    if not target:
        return "off"
    try:
        send()
    except Exception as exc:  # an alert must never take its caller down
        log.error("an alert could not be delivered: %s", exc)
        return f"failed: {exc}"
    return "sent"


def _email(settings: Settings, subject: str, body: str) -> None:
    from newsletter.providers.registry import make_provider

    message = one_off(
        settings,
        settings.alert_email,
        f"[{settings.newsletter.name}] {subject}",
        f"<p>{html.escape(body)}</p>",
        body + "\n",
        delivery_id=int(time.time() * 1000),
        metadata={"edition": "alerts"},
    )
    provider = make_provider(settings)
    try:
        (result,) = provider.send_batch([message], batch_key=f"alert/{message.delivery_id}")
    finally:
        provider.close()
    if not result.ok:
        raise RuntimeError(f"refused: {result.error}")


def _text(settings: Settings, subject: str, body: str) -> dict[str, Any]:
    return {"text": f"[{settings.newsletter.name}] {subject}\n{body}"}


def _post_json(url: str, document: dict[str, Any]) -> None:
    try:
        response = httpx.post(url, json=document, timeout=TIMEOUT)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        # The URL is a secret of its own (a Slack webhook): name its host only.
        raise RuntimeError(f"POST to {_host(url)}: {type(exc).__name__}") from None


def _host(url: str) -> str:
    return urlsplit(url).hostname or "?"


def _store(
    engine: Engine | None,
    kind: str,
    subject: str,
    body: str,
    edition_id: int | None,
    channels: dict[str, str],
) -> None:
    if engine is None:
        return
    try:
        with db.transaction(db.session_factory(engine)) as session:
            session.add(
                Alert(
                    at=utcnow(),
                    kind=kind,
                    subject=subject[:300],
                    body=body,
                    edition_id=edition_id,
                    channels=channels,
                )
            )
    except Exception as exc:  # the database may be what failed
        log.error("the alert %r could not be stored: %s", subject, exc)
