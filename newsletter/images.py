"""Images in tips: a relative path becomes a URL under ``base_url/media/``, served from the
``media_dir`` folder; and whether each image of an email will load.

A tip refers to ``![Chart](media/chart.png)`` (or ``../media/chart.png``, or ``chart.png``):
all three mean ``<media_dir>/chart.png``, linked as ``<base_url>/media/chart.png``.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import httpx
from markdown_it import MarkdownIt
from markdown_it.token import Token

from newsletter.config import Settings
from newsletter.urls import absolute

MEDIA_ROUTE = "media"


def is_relative(src: str) -> bool:
    """A path with no scheme and no host: it means nothing in an email."""
    parts = urlsplit(src)
    return not parts.scheme and not parts.netloc and not src.startswith("#")


def media_name(src: str) -> str:
    """``../media/a b.png`` → ``a b.png``: the file's path inside the media folder."""
    path = unquote(urlsplit(src).path).lstrip("/")
    while path.startswith(("./", "../")):
        path = path.split("/", 1)[1]
    return path.removeprefix(MEDIA_ROUTE + "/")


def media_url(settings: Settings, src: str) -> str:
    """The public URL of a relative image path (absolute ones are returned as they are)."""
    if not is_relative(src):
        return src
    return absolute(settings.newsletter.base_url, f"{MEDIA_ROUTE}/{quote(media_name(src))}")


def media_file(settings: Settings, name: str) -> Path | None:
    """The file for ``name`` inside the media folder; None if it would lie outside it."""
    root = settings.path(settings.newsletter.media_dir).resolve()
    target = (root / name).resolve()
    return target if target.is_relative_to(root) and target != root else None


def local_file_of(settings: Settings, url: str) -> Path | None:
    """The media file behind one of our media URLs, else None (someone else's image)."""
    prefix = absolute(settings.newsletter.base_url, MEDIA_ROUTE + "/")
    if not url.startswith(prefix):
        return None
    return media_file(settings, unquote(url[len(prefix) :])) or Path("/nonexistent")


def render_body(md: MarkdownIt, settings: Settings, body_md: str) -> str:
    """The tip's Markdown as HTML, with relative image paths made absolute."""
    tokens = md.parse(body_md)
    _absolutise(tokens, settings)
    return str(md.renderer.render(tokens, md.options, {}))


def _absolutise(tokens: list[Token], settings: Settings) -> None:
    for token in tokens:
        if token.type == "image":
            token.attrSet("src", media_url(settings, str(token.attrGet("src") or "")))
        if token.children:
            _absolutise(token.children, settings)


def problem(settings: Settings, src: str, *, network: bool) -> str | None:
    """Why the image at ``src`` will not load, or None when it will (or cannot be checked)."""
    if src.startswith("data:"):
        return None
    if is_relative(src):
        return f"{src}: a relative image path, which no mail program can load"
    local = local_file_of(settings, src)
    if local is not None:
        folder = settings.newsletter.media_dir
        return None if local.is_file() else f"{src}: no such file in {folder}/"
    if not network:
        return None
    return _fetch_problem(src, settings.checks.timeout_seconds)


def problems(settings: Settings, sources: list[str], *, network: bool) -> list[str]:
    """``problem`` for each image, checked in parallel (each bounded by the timeout)."""
    if not sources:
        return []
    with ThreadPoolExecutor(max_workers=min(8, len(sources))) as pool:
        found = pool.map(lambda s: problem(settings, s, network=network), sources)
        return [p for p in found if p]


def _fetch_problem(url: str, timeout: float) -> str | None:
    try:
        with httpx.Client(timeout=timeout, follow_redirects=True) as client:
            answer = client.get(url, headers={"User-Agent": "newsletter-check"})
    except httpx.HTTPError as exc:
        return f"{url}: did not answer ({type(exc).__name__})"
    if answer.status_code >= 400:
        return f"{url}: answered HTTP {answer.status_code}"
    kind = answer.headers.get("content-type", "")
    if not kind.startswith("image/"):
        return f"{url}: is not an image ({kind or 'no content type'})"
    return None
