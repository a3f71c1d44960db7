"""The command line as a whole: help, init, status, exit codes."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from newsletter.cli import app
from tests.conftest import Project


def all_commands(
    group: click.Group, prefix: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    for name, command in group.commands.items():
        yield (*prefix, name), command
        if isinstance(command, click.Group):
            yield from all_commands(command, (*prefix, name))


def test_every_command_has_help_with_an_example() -> None:
    for path, command in all_commands(app):
        assert command.help, f"newsletter {' '.join(path)} has no help"
        if not isinstance(command, click.Group):
            assert "Example: newsletter " in command.help, (
                f"newsletter {' '.join(path)} has no Example:"
            )


def test_usage_errors_exit_2() -> None:
    result = CliRunner().invoke(app, ["tips", "move", "x"])
    assert result.exit_code == 2
    assert "Missing option '--to'" in result.stderr


def test_init_creates_a_working_folder_and_refuses_to_run_twice(tmp_path: Path) -> None:
    runner = CliRunner()
    target = tmp_path / "news"
    first = runner.invoke(app, ["init", str(target)], env={"NEWSLETTER_CONFIG": ""})
    assert first.exit_code == 0, first.output
    assert (target / "config.toml").is_file()
    assert (target / "newsletter.db").is_file()
    assert (target / "tips" / "identify-your-point-of-empathy.md").is_file()
    assert (
        "wrote a sample tip, tips/identify-your-point-of-empathy.md (not queued): queue your own "
        "with `newsletter tips add FILE`, or this one with "
        "`newsletter tips add tips/identify-your-point-of-empathy.md`"
    ) in " ".join(first.stdout.split())
    cwd = Path.cwd()
    os.chdir(target)
    try:
        listing = runner.invoke(app, ["tips", "list", "--json"], env={"NEWSLETTER_CONFIG": ""})
        assert json.loads(listing.stdout) == [], "a real site's queue starts empty"
        added = runner.invoke(
            app,
            ["tips", "add", "tips/identify-your-point-of-empathy.md"],
            env={"NEWSLETTER_CONFIG": ""},
        )
        assert added.exit_code == 0, "the sample queues as the note says"
    finally:
        os.chdir(cwd)
    config_before = (target / "config.toml").read_bytes()
    second = runner.invoke(app, ["init", str(target)], env={"NEWSLETTER_CONFIG": ""})
    assert second.exit_code == 1
    assert (
        second.stderr.strip()
        == f"error: {target / 'config.toml'} already exists; not overwriting it"
    )
    assert (target / "config.toml").read_bytes() == config_before


def test_init_refuses_a_folder_that_already_has_a_database(tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["init", str(tmp_path)], env={"NEWSLETTER_CONFIG": ""}).exit_code == 0
    (tmp_path / "config.toml").unlink()
    again = runner.invoke(app, ["init", str(tmp_path)], env={"NEWSLETTER_CONFIG": ""})
    assert again.exit_code == 1
    assert "already holds a newsletter database; not touching it" in again.stderr
    assert not (tmp_path / "config.toml").exists()


def test_init_demo_adds_sample_subscribers(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["init", str(tmp_path), "--demo"], env={"NEWSLETTER_CONFIG": ""}
    )
    assert result.exit_code == 0, result.output
    assert "added 3 sample subscribers" in result.stdout
    assert "queued the sample tip: Identify Your Point of Empathy" in result.stdout
    assert 'postal_address = "100 Example Street' in (tmp_path / "config.toml").read_text()


def test_status_shows_queue_counts_and_database(project: Project) -> None:
    project.write("t.md", "---\ntitle: First\n---\nBody\n")
    project.run("tips", "add", "t.md")
    project.run("subscribers", "add", "ann@example.com")
    project.run("subscribers", "add", "bob@example.com")
    project.run("subscribers", "unsubscribe", "bob@example.com")
    result = project.run("status", "--json")
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert report["queue_length"] == 1
    assert report["next_tip"] == {"slug": "first", "title": "First"}
    assert report["subscribers"] == {
        "pending": 0,
        "active": 1,
        "unsubscribed": 1,
        "bounced": 0,
        "complained": 0,
    }
    human = project.run("status")
    assert "queue:       1 tips (next: First)" in human.stdout
    assert "subscribers: 0 pending, 1 active, 1 unsubscribed" in human.stdout


def test_status_masks_the_database_password(project: Project) -> None:
    url = project.settings.database.url
    if not url.startswith("postgresql"):
        pytest.skip("a password in the URL needs the PostgreSQL run (trust auth ignores it)")
    with_password = url.replace("postgres@", "postgres:hunter2@", 1)
    project.config.write_text(project.config.read_text().replace(url, with_password))
    result = project.run("status")
    assert result.exit_code == 0, result.output
    assert "hunter2" not in result.output
    assert "postgres:***@" in result.stdout
