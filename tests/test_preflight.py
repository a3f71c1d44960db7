"""Pre-flight: `newsletter check`, the checks `send` runs first, images, and safe sends."""

from __future__ import annotations

import email
import email.policy
import json
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import time_machine

from tests.conftest import Project, free_port, tip_text

NOW = "2026-11-23 14:00:00+00:00"  # Monday of 2026-W48
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000100e221bc330000000049454e44ae426082"
)


def queue(project: Project, body: str, title: str = "Be Patient") -> None:
    project.write("tips/t.md", tip_text(title, body))
    assert project.run("tips", "add", "tips/t.md").exit_code == 0


def checks(project: Project, *args: str) -> tuple[int, dict[str, tuple[str, str]]]:
    result = project.run("check", "--json", *args)
    doc = json.loads(result.stdout)
    return result.exit_code, {c["name"]: (c["level"], c["detail"]) for c in doc["checks"]}


CLEAN = "I was watching a webinar recently on empathy. " * 8 + "\n\nListen, then answer."


@time_machine.travel(NOW, tick=False)
def test_a_clean_tip_passes_every_check(project: Project) -> None:
    queue(project, CLEAN)
    code, found = checks(project)
    assert code == 0
    assert set(found) == {
        "size",
        "subject",
        "plain text",
        "unsubscribe",
        "alt text",
        "images",
        "links",
        "spam score",
    }
    assert {n: level for n, (level, _) in found.items()} == {
        **dict.fromkeys(found, "ok"),
        "spam score": "skip",
    }
    human = project.run("check")
    assert "Be Patient, as it goes out Tue Nov 24, 2026" in human.stdout


@time_machine.travel(NOW, tick=False)
def test_check_fails_on_what_would_break_and_warns_on_the_rest(project: Project) -> None:
    body = (
        CLEAN
        + "\n\n[our form](/contact) and [old site](http://www.example.com/)"
        + "\n\n![](media/missing.png)"
    )
    queue(project, body, title="A Subject Line That Goes On and On Well Past What Any Inbox Shows")
    code, found = checks(project)
    assert code == 1
    assert found["links"] == ("fail", "relative links go nowhere in an email: /contact")
    assert found["images"][0] == "fail"
    assert "media/missing.png: no such file in media/" in found["images"][1]
    assert found["alt text"][0] == "warn"
    assert found["subject"][0] == "warn"


@time_machine.travel(NOW, tick=False)
def test_a_tip_over_gmails_clipping_size_fails(project: Project) -> None:
    queue(project, ("A long paragraph of words. " * 40 + "\n\n") * 110)
    code, found = checks(project)
    assert code == 1
    assert found["size"][0] == "fail"
    assert "Gmail clips past 102 KB" in found["size"][1]


@time_machine.travel(NOW, tick=False)
def test_send_refuses_a_failing_tip_unless_forced(project: Project) -> None:
    queue(project, CLEAN + "\n\n![Chart](media/chart.png)")
    project.run("subscribers", "add", "ann@example.com")
    before = project.snapshot()
    refused = project.run("send")
    assert refused.exit_code == 1
    assert "check failed: images: https://tips.example.com/media/chart.png: no such file" in (
        refused.stderr
    )
    assert "the send was refused: fix the tip, or send anyway with --force" in refused.stderr
    assert project.snapshot() == before
    (project.dir / "media").mkdir()
    (project.dir / "media" / "chart.png").write_bytes(PNG)
    sent = project.run("send")
    assert sent.exit_code == 0, sent.output
    (mail,) = (project.dir / "outbox" / "2026-W48").glob("[0-9]*.eml")
    message = email.message_from_bytes(mail.read_bytes(), policy=email.policy.default)
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert 'src="https://tips.example.com/media/chart.png"' in html


@time_machine.travel(NOW, tick=False)
def test_force_sends_anyway(project: Project) -> None:
    queue(project, CLEAN + "\n\n[form](/contact)")
    project.run("subscribers", "add", "ann@example.com")
    forced = project.run("send", "--force")
    assert forced.exit_code == 0, forced.output
    assert "1 sent" in forced.stdout


@pytest.fixture
def image_server() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            ok = self.path == "/ok.png"
            self.send_response(200 if ok else 404)
            self.send_header("Content-Type", "image/png" if ok else "text/html")
            self.end_headers()
            self.wfile.write(PNG if ok else b"gone")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@time_machine.travel(NOW, tick=True)
def test_images_at_absolute_urls_are_fetched_unless_offline(
    project: Project, image_server: str
) -> None:
    queue(project, CLEAN + f"\n\n![ok]({image_server}/ok.png) ![gone]({image_server}/gone.png)")
    code, found = checks(project)
    assert code == 1
    assert found["images"] == ("fail", f"{image_server}/gone.png: answered HTTP 404")
    warned = project.run("preview", "--output", "p.html")
    assert f"image will not load: {image_server}/gone.png: answered HTTP 404" in warned.stderr
    offline_code, offline = checks(project, "--offline")
    assert offline_code == 0
    assert offline["images"] == ("ok", "2 images load (URLs not fetched: offline)")


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("spamassassin") is None, reason="needs Debian's spamassassin")
@time_machine.travel(NOW, tick=True)
def test_spamassassin_scores_a_clean_tip_low_and_a_spammy_one_high(project: Project) -> None:
    project.env["NEWSLETTER_CHECKS_SPAMASSASSIN"] = "true"
    queue(project, CLEAN)
    code, found = checks(project)
    assert code == 0
    level, detail = found["spam score"]
    assert level == "ok"
    assert float(detail.split()[0]) < 2.5
    spammy = (
        "CONGRATULATIONS!!! You have been selected to receive FREE CASH. 100% GUARANTEED, "
        "risk free, no credit check. Click here to claim your prize now! Act now, limited time "
        "offer! Buy cheap viagra and cialis online, lose weight fast, make money fast working "
        "from home. Earn $$$ extra income. Double your income. Once in a lifetime opportunity!"
    )
    project.write("tips/s.md", tip_text("FREE CASH!!! ACT NOW $$$", spammy))
    project.run("tips", "add", "tips/s.md")
    code, found = checks(project, "free-cash-act-now")
    assert code == 1
    level, detail = found["spam score"]
    assert level == "fail"
    assert float(detail.split()[0]) >= 5.0


# ---- safe sends -------------------------------------------------------------------------------


@time_machine.travel(NOW, tick=False)
def test_send_refuses_a_future_week(project: Project) -> None:
    queue(project, CLEAN)
    project.run("subscribers", "add", "ann@example.com")
    before = project.snapshot()
    result = project.run("send", "--week", "2026-W50")
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "error: 2026-W50 is in the future: its edition goes out on its own on "
        "Tue Dec 8, 2026 09:00 (see `newsletter calendar`); nothing was sent"
    )
    assert project.snapshot() == before


@time_machine.travel(NOW, tick=False)
def test_a_past_week_needs_a_yes(project: Project) -> None:
    queue(project, CLEAN)
    project.run("subscribers", "add", "ann@example.com")
    before = project.snapshot()
    asked = project.run("send", "--week", "2026-W40")
    assert asked.exit_code == 1
    assert "2026-W40 is past and has no edition: send one for it now, dated today?" in (
        asked.stderr
    )
    assert "Add --yes to do so; nothing was sent" in asked.stderr
    assert project.snapshot() == before
    assert project.run("send", "--week", "2026-W40", "--dry-run").exit_code == 0
    sent = project.run("send", "--week", "2026-W40", "--yes")
    assert sent.exit_code == 0, sent.output
    again = project.run("send", "--week", "2026-W40")
    assert again.exit_code == 0, "continuing an existing edition needs no yes"
    assert "already sent to 1 subscribers" in again.stdout


def test_test_to_sends_the_next_tip_whatever_this_week_did(project: Project) -> None:
    project.write("tips/a.md", tip_text("First Tip", CLEAN))
    project.write("tips/b.md", tip_text("Second Tip", CLEAN))
    project.run("tips", "add", "tips/a.md", "tips/b.md")
    project.run("subscribers", "add", "ann@example.com")
    with time_machine.travel("2026-11-24 15:00:00+00:00", tick=False):
        assert project.run("send").exit_code == 0
        test = project.run("send", "--test-to", "me@example.com")
    assert test.exit_code == 0, test.output
    assert "sent a [TEST] copy of Second Tip to me@example.com" in test.stdout
    (copy,) = (project.dir / "outbox" / "test-2026-W48").glob("*.eml")
    text = copy.read_text()
    assert "Second Tip" in text
    assert "Tuesday, December 1, 2026" in text, "dated for the week it is planned"
