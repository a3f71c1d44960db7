"""What a subscriber receives: the rendered HTML and plain text of an edition."""

from __future__ import annotations

import re
import textwrap
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from lxml import html as lxml_html

from newsletter.config import Settings, settings_from_mapping
from newsletter.content import Body, RenderedEdition
from newsletter.errors import ConfigError, InputError
from newsletter.names import Greeting, PersonName, split_name
from newsletter.render import render_edition
from newsletter.tips import TipDraft
from newsletter.tokens import UNSUBSCRIBE, LinkToken, Tokens

BODY = textwrap.dedent(
    """\
    I was watching a webinar recently on "empathy". It's a skill -- one you can learn.

    - **Listen for the feeling**: the words tell you what happened.
    - **Name it**: say what you hear.

    1. First, breathe.
    2. Then [ask a question](https://example.com/questions).

    > The customer is not always right, but they are always the customer.

    | Step | Why |
    | --- | --- |
    | Listen | To understand |

    A last paragraph that is long enough to need wrapping when it is turned into plain text, because it goes on and on.
    """
)


GREETING = "Hi {{ first_name or 'there' }},"


def settings(**newsletter: object) -> Settings:
    data = {
        "newsletter": {
            "postal_address": "100 Test Street, Springfield",
            "base_url": "https://tips.example.com",
            "greeting": GREETING,
            **newsletter,
        }
    }
    return settings_from_mapping(data, {})


def tip(**changes: str) -> TipDraft:
    base = TipDraft(
        title="Identify Your Point of Empathy",
        body_md=BODY,
        slug="identify",
        takeaway="Lead with empathy.",
    )
    return replace(base, **changes)


def rendered(s: Settings | None = None, t: TipDraft | None = None) -> RenderedEdition:
    return render_edition(s or settings(), t or tip(), send_date=date(2026, 1, 27))


def personal(
    r: RenderedEdition, name: str = "Ann", url: str = "https://tips.example.com/u/TOKEN"
) -> tuple[str, str]:
    body = Body.of(r)
    fields = {"greeting": Greeting.compile(GREETING).text(PersonName(name)), "unsubscribe_url": url}
    return body.html(fields), body.text(fields)


def test_every_markdown_feature_reaches_the_html() -> None:
    html, _ = personal(rendered())
    doc = lxml_html.fromstring(html)
    body = doc.find_class("body")[0]
    assert "“empathy”" in body.text_content()
    assert "It’s a skill – one" in body.text_content()
    labels = [li.find("strong").text for li in body.findall(".//ul/li")]
    assert labels == ["Listen for the feeling", "Name it"]
    assert [li.text_content() for li in body.findall(".//ol/li")] == [
        "First, breathe.",
        "Then ask a question.",
    ]
    assert body.find(".//ol//a").get("href") == "https://example.com/questions"
    assert "always the customer" in body.find(".//blockquote").text_content()
    assert [td.text_content() for td in body.findall(".//table//td")] == ["Listen", "To understand"]
    assert doc.find_class("title")[0].text_content() == "Identify Your Point of Empathy"
    assert doc.find_class("date")[0].text_content() == "Tuesday, January 27, 2026"
    assert "Lead with empathy." in doc.find_class("takeaway")[0].text_content()
    assert doc.find(".//title").text == "Identify Your Point of Empathy"
    assert doc.get("lang") == "en"
    assert (
        doc.find_class("preheader")[0].text_content()
        == "I was watching a webinar recently on “empathy”."
    )


def test_the_footer_has_links_archive_address_and_unsubscribe() -> None:
    html, _ = personal(rendered(), url="https://tips.example.com/u/ABC")
    doc = lxml_html.fromstring(html)
    links = {a.text_content(): a.get("href") for a in doc.iter("a")}
    assert links["Signup for FREE Tips!"] == "https://tips.example.com/signup"
    assert links["Read Past Tips"] == "https://tips.example.com/archive"
    assert "Visit Our Home Page" not in links, "no home link without [newsletter] site_url"
    assert "Contact Us" not in links, "no link to a page this app does not serve"
    assert links["View this tip in your browser"] == "https://tips.example.com/archive/identify"
    assert links["Unsubscribe"] == "https://tips.example.com/u/ABC"
    assert "100 Test Street, Springfield" in doc.find_class("footer")[0].text_content()
    assert all(href.startswith("https://") for href in links.values()), "every URL is absolute"


def test_css_is_inlined_once_and_media_queries_stay_in_the_head() -> None:
    html, _ = personal(rendered())
    head, body = html.split("<body", 1)
    assert "<style" not in body
    assert "@media only screen and (max-width: 620px)" in head
    assert "prefers-color-scheme: dark" in head
    assert 'style="' in body
    assert re.search(r'<td class="masthead" style="[^"]*background-color:#1f3a5f', body)


def test_plain_text_has_every_feature_no_tags_and_wraps_at_78() -> None:
    _, text = personal(rendered())
    assert "<" not in text.replace("<https", "")
    assert "- Listen for the feeling: the words tell you what happened." in text
    assert "1. First, breathe.\n2. Then ask a question (https://example.com/questions)." in text
    assert "> The customer is not always right" in text
    assert "Listen | To understand" in text
    assert "The takeaway: Lead with empathy." in text
    assert "Hi Ann," in text
    assert "Unsubscribe: https://tips.example.com/u/TOKEN" in text
    for line in text.splitlines():
        assert len(line) <= 78 or " " not in line.strip(), line


def test_hostile_titles_and_bodies_are_text_not_code() -> None:
    hostile = tip(
        title="<script>alert(1)</script> {{ 7*7 }}",
        body_md="Hello <script>alert('x')</script> {{ 7*7 }} {% if true %}yes{% endif %} <b>bold</b>\n",
        takeaway="<i>{{ config }}</i>",
    )
    html, text = personal(rendered(t=hostile), name="<img src=x onerror=alert(1)>")
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; {{ 7*7 }}" in html
    assert "{{ 7*7 }} {% if true %}yes{% endif %}" in html
    assert "49" not in html
    assert "<b>bold</b>" not in html
    assert "<img src=x" not in html
    assert "Hi &lt;img src=x onerror=alert(1)&gt;," in html
    assert "{{ 7*7 }} {% if true %}yes{% endif %}" in text


def test_raw_html_passes_only_when_allowed() -> None:
    t = tip(body_md="Hello <b>bold</b> friend.\n")
    assert "<b>bold</b>" not in personal(rendered(t=t))[0]
    assert "<b>bold</b>" in personal(rendered(settings(allow_html=True), t))[0]


def test_placeholders_never_leak_and_two_recipients_get_different_links() -> None:
    r = rendered()
    tokens = Tokens(["k" * 32])
    urls = [f"https://tips.example.com/u/{tokens.make(UNSUBSCRIBE, i, 7)}" for i in (1, 2)]
    (html1, text1), (html2, text2) = personal(r, "Ann", urls[0]), personal(r, "", urls[1])
    for part in (html1, text1, html2, text2):
        for marker in ("{{", "%%", "[[", "{%"):
            assert marker not in part
    assert urls[0] in html1 and urls[0] in text1 and urls[1] not in html1
    assert urls[1] in html2 and urls[1] in text2
    assert "Hi there," in text2
    assert tokens.read(UNSUBSCRIBE, urls[0].rsplit("/", 1)[1]).subscriber_id == 1


def test_subject_comes_from_the_config_template() -> None:
    r = rendered(settings(subject="{{ tip.title | upper }} | Tips"))
    assert r.subject == "IDENTIFY YOUR POINT OF EMPATHY | Tips"
    with pytest.raises(
        ConfigError,
        match=r"\[newsletter\] subject: 'tip' has no attribute 'nope'|\[newsletter\] subject:",
    ):
        rendered(settings(subject="{{ tip.nope }}"))


def test_an_operator_template_error_names_the_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "email.html.j2").write_text("<html>\n<body>\n{% if %}\n</body></html>\n")
    s = replace(settings(), newsletter=replace(settings().newsletter, templates_dir=str(tmp_path)))
    with pytest.raises(ConfigError) as info:
        rendered(s)
    assert f"{tmp_path / 'email.html.j2'}:3:" in str(info.value)


def test_an_operator_template_overrides_the_packaged_one(tmp_path: Path) -> None:
    (tmp_path / "email.txt.j2").write_text(
        "CUSTOM {{ tip.title }}\n{{ unsubscribe_placeholder }} {{ greeting_placeholder }}\n"
    )
    s = replace(settings(), newsletter=replace(settings().newsletter, templates_dir=str(tmp_path)))
    _, text = personal(rendered(s))
    assert (
        text == "CUSTOM Identify Your Point of Empathy\nhttps://tips.example.com/u/TOKEN Hi Ann,\n"
    )


# ---- the greeting ------------------------------------------------------------------------------


def test_an_empty_greeting_setting_means_no_greeting_line() -> None:
    r = rendered(settings(greeting=""))
    html, text = personal(r)
    assert "Hi " not in text and 'class="greeting"' not in html
    assert "Identify Your Point of Empathy\nTuesday, January 27, 2026\n\nI was" in text


@pytest.mark.parametrize(
    ("template", "name", "expected"),
    [
        ("Hi {{ first_name }},", PersonName("Phyllis", "Grant"), "Hi Phyllis,"),
        ("Hi {{ first_name or 'there' }},", PersonName(), "Hi there,"),
        ("Dear {{ first_name }} {{ last_name }}", PersonName("Ann", ""), "Dear Ann"),
        (
            "{% if first_name %}Hello {{ first_name }}!{% else %}Hello!{% endif %}",
            PersonName("", "Lee"),
            "Hello!",
        ),
        ("Hi {{ first_name or 'there' }},", split_name("Jennie, Feature"), "Hi Jennie,"),
    ],
)
def test_the_greeting_is_the_operators_template_filled_per_recipient(
    template: str, name: PersonName, expected: str
) -> None:
    assert Greeting.compile(template).text(name) == expected


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("Hi {{ first_name | upper }},", "use first_name and last_name as they are"),
        ("Hi {{ first_name ,", "unexpected 'end of template'"),
        ("Hi {{ nickname }},", "nickname"),
    ],
)
def test_a_greeting_that_cannot_be_filled_cheaply_is_refused_at_load(
    template: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=r"\[newsletter\] greeting: .*" + message):
        settings(greeting=template)


@pytest.mark.parametrize(
    ("full", "first", "last"),
    [
        ("Phyllis Grant", "Phyllis", "Grant"),
        ("Jennie, Feature", "Jennie", "Feature"),
        ("Ann Lee, PhD", "Ann", "Lee PhD"),
        ("  Mary   Ann van der Berg ", "Mary", "Ann van der Berg"),
        ("Cher", "Cher", ""),
        ("ann@example.com", "", ""),
        ("", "", ""),
    ],
)
def test_a_full_name_splits_into_first_and_last(full: str, first: str, last: str) -> None:
    assert split_name(full) == PersonName(first, last)


def test_links_are_compact_and_every_link_ever_sent_keeps_working() -> None:
    from itsdangerous import URLSafeSerializer, URLSafeTimedSerializer

    from newsletter.tokens import CONFIRM, RESUBSCRIBE

    tokens = Tokens(["new-key-" + "n" * 24, "old-key-" + "o" * 24])
    token = tokens.make(UNSUBSCRIBE, 123456, 42)
    assert token.startswith("1e240~2a.") and len(token) < 40
    assert tokens.read(UNSUBSCRIBE, token) == LinkToken(123456, 42)
    # A link from an earlier version (JSON payload), signed with the key before a rotation.
    old = URLSafeSerializer("old-key-" + "o" * 24, salt=UNSUBSCRIBE).dumps([7, 3])
    assert tokens.read(UNSUBSCRIBE, old) == LinkToken(7, 3)
    old_confirm = URLSafeTimedSerializer("old-key-" + "o" * 24, salt=CONFIRM).dumps([9])
    assert tokens.read(CONFIRM, old_confirm) == LinkToken(9)
    # Purposes never mix, and a tampered payload is refused.
    for forged in (token.replace("1e240", "1e241"), token + "x", "1~2.", "~"):
        with pytest.raises(InputError, match="this link is not valid"):
            tokens.read(UNSUBSCRIBE, forged)
    with pytest.raises(InputError, match="this link is not valid"):
        tokens.read(RESUBSCRIBE, token)
    with pytest.raises(InputError, match="this link is not valid"):
        tokens.read(CONFIRM, token)
