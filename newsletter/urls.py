"""Public URLs, built from ``[newsletter] base_url`` (never from a request's Host)."""

from __future__ import annotations

from urllib.parse import urljoin


def absolute(base_url: str, url: str) -> str:
    """A link from the config made absolute against ``base_url``."""
    return urljoin(base_url.rstrip("/") + "/", url)
