"""Editing tips after they are queued (`tips update`, `tips sync`), back issues in tip files,
and the dates an edition records."""

from __future__ import annotations

import email
import email.policy
import json
from pathlib import Path

import time_machine

from tests.conftest import Project, tip_text


def add(project: Project, name: str, text: str) -> None:
    project.write(f"tips/{name}.md", text)
    result = project.run("tips", "add", f"tips/{name}.md")
    assert result.exit_code == 0, result.output


def tip(project: Project, slug: str) -> dict[str, object]:
    return next(t for t in project.rows("tips") if t["slug"] == slug)


def test_update_rereads_the_file_and_says_what_changed(project: Project) -> None:
    add(project, "a", tip_text("Be Patient", "Slow down.", categories="[phones]"))
    project.write(
        "tips/a.md",
        tip_text("Be Patient Today", "Slow down.\n\nAsk twice.", categories="[phones, empathy]"),
    )
    result = project.run("tips", "update", "be-patient")
    assert result.exit_code == 0, result.output
    line = " ".join(result.stdout.split())
    assert line == (
        "Be Patient Today (be-patient): title: 'Be Patient' → 'Be Patient Today'; "
        "body: 2 lines changed; categories: +empathy"
    )
    assert tip(project, "be-patient")["body_md"] == "Slow down.\n\nAsk twice.\n"
    again = project.run("tips", "update", "be-patient")
    assert "nothing changed" in again.stdout


def test_update_from_another_file_and_from_another_folder(project: Project) -> None:
    add(project, "a", tip_text("Be Patient", "Slow down."))
    project.write("drafts/better.md", tip_text("Be Patient", "Slow right down."))
    result = project.run("tips", "update", "be-patient", "drafts/better.md")
    assert result.exit_code == 0, result.output
    assert str(tip(project, "be-patient")["source_path"]).endswith("drafts/better.md")
    assert Path(str(tip(project, "be-patient")["source_path"])).is_absolute()


def test_sync_updates_every_changed_queued_tip_or_none(project: Project) -> None:
    add(project, "a", tip_text("Alpha", "One."))
    add(project, "b", tip_text("Beta", "Two."))
    add(project, "c", tip_text("Gamma", "Three."))
    project.write("tips/a.md", tip_text("Alpha", "One, revised."))
    (project.dir / "tips" / "c.md").unlink()
    result = project.run("tips", "sync")
    assert result.exit_code == 0, result.output
    assert "Alpha (alpha): body: 2 lines changed" in result.stdout
    assert "1 updated, 1 unchanged" in result.stdout
    assert "no source file to sync from: gamma" in result.stderr
    project.write("tips/a.md", tip_text("Alpha", "Again."))
    project.write("tips/b.md", "---\ntitel: Beta\n---\nTwo.\n")
    before = project.snapshot()
    bad = project.run("tips", "sync")
    assert bad.exit_code == 1
    assert "front matter has unknown key 'titel'" in bad.stderr
    assert bad.stderr.strip().splitlines()[-1] == "error: no tips were updated"
    assert project.snapshot() == before, "a bad file stops the whole sync"


def test_a_sent_tip_changes_only_its_archive_page(project: Project) -> None:
    add(project, "a", tip_text("Be Patient", "Slow down."))
    project.run("subscribers", "add", "ann@example.com")
    with time_machine.travel("2026-11-24 15:00:00+00:00", tick=False):
        assert project.run("send").exit_code == 0
    html_before = project.rows("editions")[0]["html"]
    project.write("tips/a.md", tip_text("Be Patient", "Slow down. (Typo fixed.)"))
    refused = project.run("tips", "update", "be-patient")
    assert refused.exit_code == 1
    assert "went out in edition 2026-W48: add --archive-only" in refused.stderr
    fixed = project.run("tips", "update", "be-patient", "--archive-only")
    assert fixed.exit_code == 0, fixed.output
    assert "the email of 2026-W48 stays as it was sent" in fixed.stdout
    assert tip(project, "be-patient")["body_md"] == "Slow down. (Typo fixed.)\n"
    assert project.rows("editions")[0]["html"] == html_before


def test_a_tip_file_with_a_date_is_a_back_issue(project: Project) -> None:
    add(
        project, "old", tip_text("Hold Music Is Not a Strategy", "Say how long.", date="2013-04-30")
    )
    row = tip(project, "hold-music-is-not-a-strategy")
    assert row["status"] == "archived"
    assert str(row["published_on"]) == "2013-04-30"
    assert row["position"] is None
    assert json.loads(project.run("tips", "list", "--json").stdout) == [], "never queued"
    future = project.write("tips/new.md", tip_text("Tomorrow", "Soon.", date="2999-01-01"))
    result = project.run("tips", "add", str(future))
    assert result.exit_code == 1
    assert "front matter 'date' 2999-01-01 is in the future" in result.stderr
    bad = project.write("tips/bad.md", tip_text("Bad", "Date.", date="last tuesday"))
    assert "must be a date like 2019-04-09" in project.run("tips", "add", str(bad)).stderr


def test_the_edition_records_when_it_went_out_and_everything_shows_that_date(
    project: Project,
) -> None:
    add(project, "a", tip_text("Be Patient", "Slow down."))
    project.run("subscribers", "add", "ann@example.com")
    # A catch-up on Sunday of the same ISO week: the email says Sunday, and so does the rest.
    with time_machine.travel("2026-11-29 15:00:00+00:00", tick=False):
        assert project.run("send", "--week", "2026-W48").exit_code == 0
    (mail,) = (project.dir / "outbox" / "2026-W48").glob("[0-9]*.eml")
    message = email.message_from_bytes(mail.read_bytes(), policy=email.policy.default)
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Sunday, November 29, 2026" in text
    assert "Tuesday, November 24" not in text
    editions = json.loads(project.run("editions", "list", "--json").stdout)
    assert editions[0]["date"] == "2026-11-29"
    assert "Sun Nov 29, 2026" in project.run("editions", "list").stdout
    assert str(tip(project, "be-patient")["published_on"]) == "2026-11-29"
