"""The plain-text twin of a tip: Markdown tokens to text wrapped at 78 columns.

Bold and italics lose their markers, links keep their address in brackets, lists keep their
bullets and numbers with a hanging indent, quotes get a "> " margin.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field

from markdown_it import MarkdownIt
from markdown_it.token import Token

WIDTH = 78


@dataclass
class _List:
    ordered: bool
    number: int = 1


@dataclass
class _State:
    lists: list[_List] = field(default_factory=list)
    quote: int = 0
    marker: str = ""  # the bullet waiting for the first paragraph of a list item
    table: bool = False
    row: list[str] = field(default_factory=list)


def markdown_to_text(md: MarkdownIt, source: str, width: int = WIDTH) -> str:
    """Render Markdown ``source`` as wrapped plain text."""
    return "\n\n".join(_blocks(md.parse(source), width)).strip() + "\n"


def wrap(text: str, width: int = WIDTH, *, first: str = "", rest: str = "") -> str:
    """Fill ``text`` to ``width``; URLs and other long words are never broken."""
    return textwrap.fill(
        text,
        width=width,
        initial_indent=first,
        subsequent_indent=rest,
        break_long_words=False,
        break_on_hyphens=False,
    )


def _blocks(tokens: Sequence[Token], width: int) -> list[str]:
    blocks: list[str] = []
    st = _State()
    for token in tokens:
        kind = token.type
        if kind in ("bullet_list_open", "ordered_list_open"):
            start = int(token.attrGet("start") or 1)
            st.lists.append(_List(kind == "ordered_list_open", start))
        elif kind in ("bullet_list_close", "ordered_list_close"):
            st.lists.pop()
        elif kind == "list_item_open":
            current = st.lists[-1]
            st.marker = f"{current.number}. " if current.ordered else "- "
            current.number += 1
        elif kind == "blockquote_open":
            st.quote += 1
        elif kind == "blockquote_close":
            st.quote -= 1
        elif kind in ("table_open", "table_close"):
            st.table = kind == "table_open"
        elif kind == "inline" and st.table:
            st.row.append(_inline_text(token.children or []))
        elif kind == "tr_close":
            # Rows stay on consecutive lines, like list items (the NUL mark).
            blocks.append("\x00" + wrap(" | ".join(st.row), width))
            st.row = []
        elif kind == "inline":
            _add_text(blocks, _inline_text(token.children or []), st, width)
        elif kind in ("fence", "code_block"):
            blocks.append(textwrap.indent(token.content.rstrip("\n"), "    "))
        elif kind == "hr":
            blocks.append("-" * 20)
        elif kind == "html_block":
            _add_text(blocks, token.content.strip(), st, width)
    return _join_list_items(blocks)


def _add_text(blocks: list[str], text: str, st: _State, width: int) -> None:
    depth = max(len(st.lists) - 1, 0)
    quote = "> " * st.quote
    if st.marker:
        first = quote + "   " * depth + st.marker
        st.marker = ""
    else:
        first = quote + "   " * depth + ("   " if st.lists else "")
    rest = quote + " " * (len(first) - len(quote))
    for paragraph in text.split("\n"):
        blocks.append(("\x00" if st.lists else "") + wrap(paragraph, width, first=first, rest=rest))
        first = rest


def _join_list_items(blocks: list[str]) -> list[str]:
    """List items (marked with NUL) stay on consecutive lines; other blocks get a blank line."""
    joined: list[str] = []
    for block in blocks:
        if block.startswith("\x00") and joined and joined[-1].startswith("\x00"):
            joined[-1] += "\n" + block[1:]
        else:
            joined.append(block)
    return [b.lstrip("\x00") for b in joined]


def _inline_text(children: Sequence[Token]) -> str:
    parts: list[str] = []
    hrefs: list[tuple[str, int]] = []
    for child in children:
        if child.type in ("text", "code_inline", "html_inline"):
            parts.append(child.content)
        elif child.type == "softbreak":
            parts.append(" ")
        elif child.type == "hardbreak":
            parts.append("\n")
        elif child.type == "image":
            parts.append(child.content or str(child.attrGet("alt") or ""))
        elif child.type == "link_open":
            hrefs.append((str(child.attrGet("href") or ""), len(parts)))
        elif child.type == "link_close" and hrefs:
            href, at = hrefs.pop()
            if "".join(parts[at:]).strip() != href:
                parts.append(f" ({href})")
    return "".join(parts)
