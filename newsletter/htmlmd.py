"""Old web pages' HTML to a tip's Markdown (markdownify), keeping what Markdown cannot say.

What Markdown has no words for (underline, super- and subscript, definition lists, tables with
merged or header-less cells, audio and video) is kept as HTML, sanitised with nh3 on the way in
and again whenever it is shown (``safe_html``). The old site's footer block ("Signup for FREE
Tips! | Contact Us | …" under every post) is cut off, with the blank lines around it.
"""

from __future__ import annotations

import re

import nh3
from bs4 import BeautifulSoup, Tag
from bs4.element import NavigableString
from markdownify import markdownify

DEFAULT_FOOTERS = ("Signup for FREE Tips!",)
KEEP_INLINE = ("u", "ins", "mark", "sup", "sub")
KEEP_BLOCK = ("dl", "video", "audio")
DROP = ("script", "style", "noscript", "form", "object", "embed")
BLOCKS = re.compile(r"^\s*<(p|ul|ol|li|table|h[1-6]|blockquote|div|pre|figure|hr|dl)\b", re.I)
_TOKEN = "XKEEPHTML{}X"  # noqa: S105 (a placeholder, not a password)
_TAGS = {*nh3.ALLOWED_TAGS, "video", "audio", "source"} - {"area", "map"}
_ATTRIBUTES = {
    **{tag: set(values) for tag, values in nh3.ALLOWED_ATTRIBUTES.items()},
    "video": {"src", "controls", "poster", "width", "height"},
    "audio": {"src", "controls"},
    "source": {"src", "type"},
}


def safe_html(html: str) -> str:
    """``html`` with everything that could run or track removed (nh3's allow-list)."""
    return nh3.clean(
        html,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
    )


def autop(html: str) -> str:
    """WordPress stores posts without ``<p>``: blank lines end paragraphs, newlines are breaks."""
    if re.search(r"<p[\s>]", html, re.I):
        return html
    out = []
    for chunk in re.split(r"\n\s*\n", html.replace("\r\n", "\n")):
        chunk = chunk.strip()
        if not chunk:
            continue
        if BLOCKS.match(chunk):
            out.append(chunk)
        else:
            out.append("<p>" + chunk.replace("\n", "<br>\n") + "</p>")
    return "\n".join(out)


def to_markdown(html: str, footers: tuple[str, ...] = DEFAULT_FOOTERS) -> str:
    """A post's HTML as Markdown, its footer removed; unconvertible parts kept as safe HTML."""
    soup = BeautifulSoup(autop(html), "html.parser")
    for tag in soup.find_all(DROP):
        tag.decompose()
    _embeds_to_links(soup)
    _unsafe_links_to_text(soup)
    _cut_footer(soup, footers)
    kept = _keep_as_html(soup)
    for whitespace in soup.find_all(
        string=lambda s: isinstance(s, NavigableString) and not s.strip()
    ):
        if whitespace.parent is not None and whitespace.parent.name in ("ul", "ol", "table", "tr"):
            whitespace.extract()
    text = markdownify(
        str(soup), heading_style="ATX", bullets="-", escape_misc=False, newline_style="BACKSLASH"
    )
    for i, piece in enumerate(kept):
        text = text.replace(_TOKEN.format(i), piece)
    text = re.sub(r"[ \t\u00a0]+\n", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def _embeds_to_links(soup: BeautifulSoup) -> None:
    """An iframe (a YouTube player) would be blocked in email and by our pages: link to it."""
    for frame in soup.find_all("iframe"):
        src = str(frame.get("src") or "")
        if src.startswith(("http://", "https://")):
            link = soup.new_tag("a", href=src)
            link.string = "Watch the video" if "youtu" in src else src
            paragraph = soup.new_tag("p")
            paragraph.append(link)
            frame.replace_with(paragraph)
        else:
            frame.decompose()


def _unsafe_links_to_text(soup: BeautifulSoup) -> None:
    """A link to anything but a web page or an address (``javascript:``) keeps only its text."""
    for link in soup.find_all("a"):
        href = str(link.get("href") or "").strip().lower()
        if href and not href.startswith(("http://", "https://", "mailto:", "/", "#")):
            link.unwrap()


def _cut_footer(soup: BeautifulSoup, footers: tuple[str, ...]) -> None:
    for marker in footers:
        for found in list(soup.find_all(string=lambda s, m=marker: bool(s and m in s))):
            block = _top_level(found)
            if block is not None and block.parent is not None:
                for sibling in list(block.find_next_siblings()):
                    if _blank(sibling):
                        sibling.decompose()
                block.decompose()
    children = [c for c in soup.contents if not (isinstance(c, NavigableString) and not c.strip())]
    while children and _blank(children[-1]):
        children.pop().extract()


def _top_level(node: object) -> Tag | None:
    current = node
    while isinstance(current, Tag | NavigableString) and current.parent is not None:
        if isinstance(current.parent, BeautifulSoup):
            return current if isinstance(current, Tag) else None
        current = current.parent
    return None


def _blank(node: object) -> bool:
    if isinstance(node, NavigableString):
        return not node.replace("\u00a0", "").strip()
    if isinstance(node, Tag):
        return (
            node.name not in ("img", "hr")
            and not node.find(["img", "iframe", "video"])
            and (not node.get_text().replace("\u00a0", "").strip())
        )
    return False


def _keep_as_html(soup: BeautifulSoup) -> list[str]:
    kept: list[str] = []
    for tag in soup.find_all([*KEEP_INLINE, *KEEP_BLOCK, "table"]):
        if tag.decomposed or (tag.name == "table" and _plain_table(tag)):
            continue
        if tag.find_parent([*KEEP_INLINE, *KEEP_BLOCK, "table"]) is not None:
            continue
        kept.append(safe_html(str(tag)))
        token = _TOKEN.format(len(kept) - 1)
        if tag.name in KEEP_INLINE:
            tag.replace_with(token)
        else:
            holder = soup.new_tag("p")
            holder.string = token
            tag.replace_with(holder)
    return kept


def _plain_table(table: Tag) -> bool:
    """A table Markdown can carry: a header row, no merged cells, no blocks inside cells."""
    rows = table.find_all("tr")
    if not rows or not rows[0].find("th"):
        return False
    cells = table.find_all(["td", "th"])
    if any(cell.has_attr("colspan") or cell.has_attr("rowspan") for cell in cells):
        return False
    return table.find(["p", "ul", "ol", "table", "div", "br"], recursive=True) is None
