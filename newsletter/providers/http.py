"""What every HTTP provider shares: one pooled client, and failures mapped to ``ProviderError``.

- connection refused / DNS: transient, and certain that nothing was sent;
- timeouts and dropped connections after the request went out: transient but ``uncertain``;
- 429 and 5xx: transient, with ``Retry-After`` (seconds or an HTTP date) or
  ``X-RateLimit-Reset`` (a Unix time) honoured;
- 401/403 (bad key, no permission) and other 4xx: permanent for the whole send.
The API key never appears in a message: only the provider's name, the status and its text.
"""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import httpx

from newsletter.errors import ProviderError

TIMEOUT = httpx.Timeout(30.0, connect=10.0)


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
    except httpx.ConnectError as exc:
        raise ProviderError(
            f"{name}: cannot connect ({type(exc).__name__})", permanent=False
        ) from None
    except httpx.ConnectTimeout:
        raise ProviderError(f"{name}: connection timed out", permanent=False) from None
    except httpx.TimeoutException as exc:
        raise ProviderError(
            f"{name}: no answer in time ({type(exc).__name__})", permanent=False, uncertain=True
        ) from None
    except httpx.TransportError as exc:
        raise ProviderError(
            f"{name}: connection lost ({type(exc).__name__})", permanent=False, uncertain=True
        ) from None
    return response


def check(name: str, response: httpx.Response, *, ok: tuple[int, ...] = (200,)) -> None:
    """Raise ``ProviderError`` for an unsuccessful answer to a whole call."""
    if response.status_code in ok:
        return
    detail = _detail(response)
    status = response.status_code
    if status == 429 or status >= 500:
        raise ProviderError(
            f"{name}: HTTP {status} {detail}".rstrip(),
            permanent=False,
            retry_after=retry_after(response),
        )
    hint = " (check NEWSLETTER_API_KEY and the sender)" if status in (401, 403) else ""
    raise ProviderError(f"{name}: HTTP {status} {detail}{hint}".rstrip(), permanent=True)


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
        data = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(data, dict):
        for key in ("Message", "message", "error", "errors"):
            if key in data:
                return str(data[key])[:300]
    return str(data)[:300]


def unexpected(name: str, response: httpx.Response) -> ProviderError:
    """An answer that does not match the documented shape: the batch's fate is unknown."""
    return ProviderError(
        f"{name}: unexpected answer (HTTP {response.status_code}): {response.text[:200]}",
        permanent=True,
        uncertain=True,
    )


def transient(name: str, response: httpx.Response) -> ProviderError:
    """A refusal worth retrying later."""
    return ProviderError(
        f"{name}: HTTP {response.status_code} {_detail(response)}".rstrip(),
        permanent=False,
        retry_after=retry_after(response) or 1.0,
    )


def json_array(items: Iterable[Any]) -> Iterator[bytes]:
    """A JSON array streamed item by item (chunked): a 500-message batch is never held twice."""
    yield b"["
    for i, item in enumerate(items):
        yield (b"," if i else b"") + json.dumps(item, ensure_ascii=False).encode()
    yield b"]"
