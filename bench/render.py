"""Rendering cost: render-once (Markdown + Jinja2 + premailer) and per-recipient personalisation.

    python bench/render.py [--words 1500] [--runs 30] [--recipients 20000]

Goals (issue 4): render once <= 50 ms; personalisation <= 20 µs median per recipient.
Personalisation is measured alone (string joins on the stored HTML and text) and with the
signed unsubscribe token made for each recipient, since a send needs both.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import date

from newsletter.config import settings_from_mapping
from newsletter.content import Body
from newsletter.render import render_edition
from newsletter.tips import TipDraft
from newsletter.tokens import UNSUBSCRIBE, Tokens

PARAGRAPH = (
    "When Greg entered the Tax Office, he was thinking only about two things: how he was going "
    "to get the tax value on his home reduced, and whether the wait would be one hour or two. "
    "He checked in with the navigator, who asked a few **questions** and pointed him to a seat. "
)


def long_tip(words: int) -> TipDraft:
    parts, count = [], 0
    while count < words:
        parts.append(PARAGRAPH)
        parts.append(
            "- **Listen for the feeling**: the words tell you what happened.\n- **Name it**: say it.\n"
        )
        count += len(PARAGRAPH.split()) + 14
    return TipDraft(
        title="Make the Long Wait Feel Shorter",
        body_md="\n\n".join(parts),
        slug="wait",
        takeaway="Fill the wait.",
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--words", type=int, default=1500)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--recipients", type=int, default=20_000)
    args = parser.parse_args()
    settings = settings_from_mapping({"newsletter": {"postal_address": "100 Main St"}}, {})
    tip = long_tip(args.words)
    render_edition(settings, tip, send_date=date(2026, 1, 27))  # warm caches (imports, regexes)
    renders = []
    for _ in range(args.runs):
        start = time.perf_counter()
        rendered = render_edition(settings, tip, send_date=date(2026, 1, 27))
        renders.append(time.perf_counter() - start)
    fill = Body.of(rendered)
    tokens = Tokens(["k" * 32])
    url = "https://tips.example.com/u/"
    only, with_token = [], []
    for i in range(args.recipients):
        start = time.perf_counter()
        fields = {"greeting": "Hi Ann,", "unsubscribe_url": url + "x"}
        fill.html(fields)
        fill.text(fields)
        only.append(time.perf_counter() - start)
        start = time.perf_counter()
        link = url + tokens.make(UNSUBSCRIBE, i, 42)
        fields = {"greeting": "Hi Ann,", "unsubscribe_url": link}
        fill.html(fields)
        fill.text(fields)
        with_token.append(time.perf_counter() - start)
    print(
        f"tip: {len(tip.body_md.split())} words; email HTML {len(rendered.html):,} bytes, text {len(rendered.text):,} bytes"
    )
    print(
        f"render once (markdown+jinja2+premailer): median {statistics.median(renders) * 1e3:.1f} ms, min {min(renders) * 1e3:.1f} ms over {args.runs} runs (goal <= 50 ms)"
    )
    print(
        f"personalise HTML+text: median {statistics.median(only) * 1e6:.1f} µs per recipient (goal <= 20 µs)"
    )
    print(
        f"personalise + sign unsubscribe token: median {statistics.median(with_token) * 1e6:.1f} µs per recipient"
    )


if __name__ == "__main__":
    main()
