"""What every HTTP provider shares: one pooled client, and failures mapped to ``ProviderError``.

Certain that nothing went out:
- connection refused, DNS, no free connection in the pool: transient;
- 429, and a 5xx whose body is the provider's own JSON error: transient, with ``Retry-After``
  (seconds or an HTTP date) or ``X-RateLimit-Reset`` (a Unix time) honoured;
- 401/403 (bad key, no permission) and other 4xx: permanent for the whole send.
Ambiguous (the request may have reached the provider, see ``newsletter.fate``):
- a timeout after connecting, a connection dropped after the request was written;
- 502, 504, and any 5xx without the provider's JSON (a gateway or load balancer answered,
  possibly after the provider accepted the request);
- a 2xx whose body cannot be read or does not have the documented shape.
Texts are scrubbed of secrets by the registry's wrapper before anyone sees them.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import httpx
import orjson

from newsletter.config import Settings
from newsletter.errors import ConfigError, ProviderError
from newsletter.providers.base import Message

TIMEOUT = httpx.Timeout(30.0, connect=10.0)


def api_key(settings: Settings) -> str:
    """The provider's key, from the environment only; a clear error when it is missing."""
    if not settings.secrets.api_key:
        raise ConfigError(
            f"NEWSLETTER_API_KEY is not set: {settings.provider.name} needs the API key"
        )
    return settings.secrets.api_key


def client(
    base_url: str, headers: Mapping[str, str], *, concurrency: int = 4, auth: Any = None
) -> httpx.Client:
    """One connection pool for all the sending threads."""
    limits = httpx.Limits(
        max_connections=max(concurrency, 1) * 2, max_keepalive_connections=max(concurrency, 1)
    )
    return httpx.Client(
        base_url=base_url, headers=dict(headers), timeout=TIMEOUT, limits=limits, auth=auth
    )


def call(name: str, send: Any) -> httpx.Response:
    """Run ``send()`` (an httpx request) and turn transport failures into ``ProviderError``."""
    try:
        response: httpx.Response = send()
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
        raise ProviderError(
            f"{name}: cannot connect ({type(exc).__name__})", permanent=False
        ) from exc
    except httpx.TimeoutException as exc:
        raise ProviderError(
            f"{name}: no answer in time ({type(exc).__name__})", permanent=False, ambiguous=True
        ) from exc
    except httpx.TransportError as exc:
        raise ProviderError(
            f"{name}: connection lost ({type(exc).__name__})", permanent=False, ambiguous=True
        ) from exc
    return response


def check(name: str, response: httpx.Response, *, ok: tuple[int, ...] = (200,)) -> None:
    """Raise ``ProviderError`` for an unsuccessful answer to a whole call."""
    status = response.status_code
    if status in ok:
        return
    detail = _detail(response)
    if status >= 500:
        ambiguous = status in (502, 504) or not is_json(response)
        where = " from a gateway, maybe after the provider took the call" if ambiguous else ""
        raise ProviderError(
            f"{name}: HTTP {status}{where} {detail}".rstrip(),
            permanent=False,
            retry_after=retry_after(response),
            ambiguous=ambiguous,
        )
    if status == 429:
        raise ProviderError(
            f"{name}: HTTP {status} {detail}".rstrip(),
            permanent=False,
            retry_after=retry_after(response),
        )
    hint = " (check NEWSLETTER_API_KEY and the sender)" if status in (401, 403) else ""
    raise ProviderError(f"{name}: HTTP {status} {detail}{hint}".rstrip(), permanent=True)


def body(name: str, response: httpx.Response) -> Any:
    """The JSON of a successful answer; an unreadable one leaves the batch's fate unknown."""
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError as exc:
        raise unexpected(name, response) from exc


def is_json(response: httpx.Response) -> bool:
    if "json" not in response.headers.get("content-type", ""):
        return False
    try:
        orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return False
    return True


def retry_after(response: httpx.Response, now: float | None = None) -> float | None:
    """Seconds to wait, from Retry-After (seconds or HTTP date) or X-RateLimit-Reset (Unix time)."""
    now = time.time() if now is None else now
    value = response.headers.get("retry-after")
    if value:
        if value.strip().isdigit():
            return float(value)
        when = email.utils.parsedate_to_datetime(value)
        if when is not None:
            return max(when.timestamp() - now, 0.0)
    reset = response.headers.get("x-ratelimit-reset")
    if reset and reset.strip().replace(".", "", 1).isdigit():
        return max(float(reset) - now, 0.0)
    return None


def _detail(response: httpx.Response) -> str:
    try:
        data = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return " ".join(response.text[:200].split())
    if isinstance(data, dict):
        for key in ("Message", "message", "error", "errors"):
            if key in data:
                return str(data[key])[:300]
    return str(data)[:300]


def unexpected(name: str, response: httpx.Response) -> ProviderError:
    """An answer that does not match the documented shape: the batch's fate is unknown."""
    text = " ".join(response.text[:200].split())
    return ProviderError(
        f"{name}: unexpected answer (HTTP {response.status_code}): {text}",
        permanent=True,
        ambiguous=True,
    )


class Body:
    """A request body in pieces, with its length known before it is sent.

    Sent with Content-Length (never chunked: some API front ends refuse it or read it as
    empty), and written in chunks of about 256 KB joined on the way out: a 10 MB batch is
    never held as one block, and the edition's shared pieces are never copied per recipient
    until they reach the socket. Each ``chunks()`` call starts over (a retry resends it all).
    """

    CHUNK = 256 * 1024

    def __init__(self, parts: list[bytes]) -> None:
        self.parts = parts
        self.length = sum(map(len, parts))

    def chunks(self) -> Iterator[bytes]:
        pending: list[bytes] = []
        size = 0
        for part in self.parts:
            pending.append(part)
            size += len(part)
            if size >= self.CHUNK:
                yield b"".join(pending)
                pending, size = [], 0
        if pending:
            yield b"".join(pending)

    def headers(self) -> dict[str, str]:
        return {"Content-Length": str(self.length)}

    def __bytes__(self) -> bytes:
        return b"".join(self.parts)


def json_array(items: Iterable[list[bytes]]) -> Body:
    """A JSON array of items, each in pieces, as a ``Body``."""
    parts = [b"["]
    for item in items:
        parts += item
        parts.append(b",")
    if len(parts) == 1:
        parts.append(b"]")
    else:
        parts[-1] = b"]"
    return Body(parts)


def with_bodies(html_key: str, text_key: str, m: Message, rest: dict[str, Any]) -> list[bytes]:
    """One message as a JSON object, in pieces: its HTML and text parts straight from the
    edition's pre-encoded pieces (no per-recipient copy of the body), then the other fields."""
    return [
        b'{"' + html_key.encode() + b'":"',
        *m.body.html_json(m.fields),
        b'","' + text_key.encode() + b'":"',
        *m.body.text_json(m.fields),
        b'",' + orjson.dumps(rest)[1:],
    ]


def json_body(document: Any) -> bytes:
    """One JSON document as bytes (orjson: several times faster than the json module)."""
    return orjson.dumps(document)


JSON_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}
