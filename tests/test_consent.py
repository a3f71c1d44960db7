"""Consent that sticks: imports from real services, lossless backups, the suppression list,
one subscriber per mailbox, names and control characters, ``subscribers show``."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from newsletter import db
from tests.conftest import Project, write_config

DATA = Path(__file__).parent / "data"


def people(project: Project) -> dict[str, dict[str, Any]]:
    return {s["email"]: s for s in project.rows("subscribers")}


def load(project: Project, name: str, *args: str) -> Any:
    shutil.copy(DATA / name, project.dir / name)
    return project.run("subscribers", "import", name, *args)


# ---- imports from where lists really come from ----------------------------------------------------


@pytest.mark.parametrize(
    ("sample", "expected"),
    [
        (
            "mailchimp_subscribed_members_export.csv",
            {
                "phyllis.grant@example.com": ("Phyllis", "Grant", "active"),
                "jennie@example.org": ("Jennie", "", "active"),
                "zoë@xn--exmple-cua.com": ("Zoë", "Müller", "active"),
            },
        ),
        (
            "mailchimp_unsubscribed_members_export.csv",
            {
                "former.reader@example.com": ("Frank", "Former", "unsubscribed"),
                "gone@example.net": ("", "", "unsubscribed"),
            },
        ),
        (
            "mailchimp_cleaned_members_export.csv",
            {"dead.mailbox@example.com": ("Dee", "Ad", "bounced")},
        ),
        (
            "substack_email_list.csv",
            {
                "reader.one@example.com": ("", "", "active"),
                "paying.reader@example.com": ("", "", "active"),
                "quiet.reader@example.com": ("", "", "unsubscribed"),
            },
        ),
        (
            "buttondown_subscribers.csv",
            {
                "bd.one@example.com": ("", "", "active"),
                "bd.two@example.com": ("", "", "unsubscribed"),
                "bd.three@example.com": ("", "", "pending"),
            },
        ),
        (
            "kit_subscribers.csv",
            {
                "maja@example.com": ("Maja", "", "active"),
                "nils@example.com": ("Nils", "", "unsubscribed"),
                "olga@example.com": ("Olga", "", "bounced"),
            },
        ),
        (
            "mailpoet_subscribers.csv",
            {
                "mp.one@example.com": ("Ana", "Lima", "active"),
                "mp.two@example.com": ("Ben", "", "unsubscribed"),
                "mp.three@example.com": ("", "", "pending"),
            },
        ),
        (
            "semicolon_spreadsheet.csv",
            {
                "hans.meier@example.de": ("Hans", "Meier", "active"),
                "grete@example.de": ("Grete", "Müller-Lüdenscheidt", "active"),
            },
        ),
        (
            "excel_unicode_text.txt",
            {
                "ana.excel@example.com": ("Ana", "Silva", "active"),
                "björn@example.se": ("Björn", "Åström", "active"),
            },
        ),
    ],
)
def test_exports_of_other_services_import_with_names_and_statuses(
    project: Project, sample: str, expected: dict[str, tuple[str, str, str]]
) -> None:
    result = load(project, sample)
    assert result.exit_code == 0, result.output
    got = {
        email: (row["first_name"], row["last_name"], row["status"])
        for email, row in people(project).items()
    }
    assert got == expected
    stopped = [e for e, (_, _, status) in expected.items() if status in ("unsubscribed", "bounced")]
    for address in stopped:
        shown = json.loads(project.run("subscribers", "show", address, "--json").stdout)
        assert shown["suppressed"]["via"] == "import"


def test_mailchimp_opt_in_and_confirm_times_become_the_consent_record(project: Project) -> None:
    assert load(project, "mailchimp_subscribed_members_export.csv").exit_code == 0
    phyllis = people(project)["phyllis.grant@example.com"]
    shown = json.loads(
        project.run("subscribers", "show", "phyllis.grant@example.com", "--json").stdout
    )
    record = shown["subscriber"]
    assert record["subscribed_at"] == "2021-03-02T14:05:11+00:00"
    assert record["confirmed_at"] == "2021-03-02T14:07:40+00:00"
    assert record["consent"] == "opted in from 203.0.113.7; confirmed from 203.0.113.7"
    assert phyllis["source"] == "import"
    unsub = load(project, "mailchimp_unsubscribed_members_export.csv")
    assert unsub.exit_code == 0, unsub.output
    assert "a Mailchimp unsubscribed export (imported as unsubscribed)" in unsub.stdout
    former = json.loads(
        project.run("subscribers", "show", "former.reader@example.com", "--json").stdout
    )
    assert former["subscriber"]["unsubscribed_at"] == "2023-02-14T16:30:00+00:00"


def test_a_mailchimp_unsubscribe_export_stops_someone_already_active_here(project: Project) -> None:
    project.run("subscribers", "add", "former.reader@example.com")
    result = load(project, "mailchimp_unsubscribed_members_export.csv")
    assert "1 opted out by the file" in result.stdout
    assert people(project)["former.reader@example.com"]["status"] == "unsubscribed"


def test_dry_run_shows_mapping_counts_and_refusals_and_changes_nothing(project: Project) -> None:
    project.write(
        "list.csv",
        "Adresse,Vorname,Type\nann@example.com,Ann,gold\nnot-an-address,X,gold\n"
        "bob@example.com,Bob,gold\n",
    )
    before = project.snapshot()
    result = project.run(
        "subscribers", "import", "list.csv", "--dry-run", "--map", "Adresse=email,Type="
    )
    assert result.exit_code == 1
    assert "columns: Adresse → email, Vorname → first_name" in result.stdout
    assert "line 3: 'not-an-address' is not a valid email address" in result.stderr
    assert "would import 2 of 3 rows (2 active)" in result.stdout
    assert "dry run: nothing was changed" in result.stdout
    assert project.snapshot() == before
    as_json = json.loads(
        project.run(
            "subscribers",
            "import",
            "list.csv",
            "--dry-run",
            "--json",
            "--map",
            "Adresse=email,Type=",
        ).stdout
    )
    assert as_json["outcomes"]["added"] == 2 and as_json["outcomes"]["refused"] == 1
    assert project.snapshot() == before


def test_an_unknown_status_word_is_refused_by_line(project: Project) -> None:
    project.write("list.csv", "email,status\nann@example.com,gold\nbob@example.com,active\n")
    result = project.run("subscribers", "import", "list.csv")
    assert result.exit_code == 1
    assert "line 2: unknown status 'gold'" in result.stderr
    assert list(people(project)) == ["bob@example.com"]


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ("Nope=email", "--map names a column 'nope' that is not in the header"),
        ("email=mail", "--map: unknown field 'mail' for column 'email'"),
        ("email", "--map: 'email' is not COLUMN=FIELD"),
    ],
)
def test_a_bad_map_is_one_clear_line(project: Project, mapping: str, message: str) -> None:
    project.write("list.csv", "email\nann@example.com\n")
    result = project.run("subscribers", "import", "list.csv", "--map", mapping)
    assert result.exit_code == 1
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


# ---- backups and restore ------------------------------------------------------------------------


def test_export_then_import_on_a_fresh_site_restores_every_status_and_date(
    project: Project, tmp_path: Path, db_url: str
) -> None:
    assert load(project, "mailchimp_subscribed_members_export.csv").exit_code == 0
    assert load(project, "mailchimp_unsubscribed_members_export.csv").exit_code == 0
    assert load(project, "buttondown_subscribers.csv").exit_code == 0
    project.run("subscribers", "add", "=cmd@example.com", "--first-name", "=HYPERLINK(1)")
    project.run("subscribers", "unsubscribe", "bd.one@example.com")
    first = project.run("subscribers", "export", "backup.csv")
    assert first.exit_code == 0
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    other_url = db_url.replace("newsletter.db", "fresh.db") if "sqlite" in db_url else db_url
    if "sqlite" not in db_url:
        pytest.skip("a second database needs a second schema; SQLite shows the round trip")
    engine = db.make_engine(other_url)
    db.upgrade(engine)
    site = Project(fresh, write_config(fresh, other_url), engine, env=dict(project.env))
    shutil.copy(project.dir / "backup.csv", fresh / "backup.csv")
    restored = site.run("subscribers", "import", "backup.csv")
    assert restored.exit_code == 0, restored.output
    assert "a newsletter export (restored exactly)" in restored.stdout
    site.run("subscribers", "export", "again.csv")
    assert (fresh / "again.csv").read_text() == (project.dir / "backup.csv").read_text()
    statuses = {r["email"]: r["status"] for r in site.rows("subscribers")}
    assert statuses["former.reader@example.com"] == "unsubscribed"
    assert statuses["bd.one@example.com"] == "unsubscribed"
    readd = site.run("subscribers", "add", "bd.one@example.com")
    assert readd.exit_code == 1
    engine.dispose()


def test_the_spreadsheet_export_neutralises_formulas_and_the_plain_one_stays_exact(
    project: Project,
) -> None:
    project.run("subscribers", "add", "ann@example.com", "--first-name", '=HYPERLINK("x")')
    project.run("subscribers", "add", "bob@example.com", "--last-name", "-2+3")
    plain = list(csv.DictReader(io.StringIO(project.run("subscribers", "export").stdout)))
    safe = list(
        csv.DictReader(io.StringIO(project.run("subscribers", "export", "--spreadsheet").stdout))
    )
    assert [r["first_name"] for r in plain] == ['=HYPERLINK("x")', ""]
    assert [r["first_name"] for r in safe] == ['\'=HYPERLINK("x")', ""]
    assert [r["last_name"] for r in safe] == ["", "'-2+3"]
    assert list(plain[0]) == [
        "email",
        "first_name",
        "last_name",
        "status",
        "source",
        "created_at",
        "subscribed_at",
        "confirmed_at",
        "unsubscribed_at",
        "consent",
    ]


# ---- the suppression list ------------------------------------------------------------------------


def test_erase_then_reimport_does_not_add_them_back(project: Project) -> None:
    project.write("list.csv", "email,name\nann@example.com,Ann Lee\nbob@example.com,Bob\n")
    project.run("subscribers", "import", "list.csv")
    assert project.run("subscribers", "remove", "ann@example.com", "--erase").exit_code == 0
    again = project.run("subscribers", "import", "list.csv")
    assert "line 2: skipped: ann@example.com is on the suppression list (erased)" in again.stderr
    assert "1 already subscribed, 0 opted out by the file, 1 suppressed" in again.stdout
    assert list(people(project)) == ["bob@example.com"]
    stored = project.rows("suppressions")
    assert len(stored) == 1 and "ann" not in json.dumps(stored, default=str)


def test_a_suppressed_address_stays_suppressed_through_add_import_and_resubscribe_lifts_it(
    project: Project,
) -> None:
    result = project.run("subscribers", "unsubscribe", "former@example.com")
    assert result.stdout.strip() == (
        "former@example.com is not a subscriber; it is on the suppression list now"
    )
    add = project.run("subscribers", "add", "Former@Example.com")
    assert add.exit_code == 1
    assert "former@example.com is on the suppression list (unsubscribed)" in add.stderr
    project.write("list.csv", "email\nformer@example.com\n")
    assert "1 suppressed" in project.run("subscribers", "import", "list.csv").stdout
    assert people(project) == {}
    back = project.run(
        "subscribers", "resubscribe", "former@example.com", "--reason", "wrote to ask"
    )
    assert back.exit_code == 0, back.output
    assert people(project)["former@example.com"]["status"] == "active"
    assert project.rows("suppressions") == []
    shown = json.loads(project.run("subscribers", "show", "former@example.com", "--json").stdout)
    assert [(e["kind"], e["detail"]) for e in shown["events"]][-1] == (
        "resubscribed",
        "wrote to ask",
    )


def test_suppress_takes_an_address_or_a_file_of_old_opt_outs(project: Project) -> None:
    project.run("subscribers", "add", "active@example.com")
    project.write("optouts.txt", "old1@example.com\nOLD2@example.com\nnot an address\n")
    result = project.run("subscribers", "suppress", "optouts.txt")
    assert result.exit_code == 1
    assert "line 3: 'not an address' is not a valid email address" in result.stderr
    assert "suppressed 2 of 3 addresses (unsubscribed); 1 refused" in result.stdout
    one = project.run("subscribers", "suppress", "active@example.com", "--reason", "complained")
    assert one.exit_code == 0
    assert people(project)["active@example.com"]["status"] == "complained"
    assert len(project.rows("suppressions")) == 3


def test_the_suppression_list_needs_the_secret_key(project: Project) -> None:
    del project.env["NEWSLETTER_SECRET_KEY"]
    result = project.run("subscribers", "unsubscribe", "x@example.com")
    assert result.exit_code == 1
    assert (
        "NEWSLETTER_SECRET_KEY is not set: the suppression list is keyed with it" in result.stderr
    )


# ---- one mailbox, one subscriber -----------------------------------------------------------------


def test_both_spellings_of_an_international_domain_are_one_subscriber(project: Project) -> None:
    assert project.run("subscribers", "add", "ann@exämple.com").exit_code == 0
    again = project.run("subscribers", "add", "ann@xn--exmple-cua.com")
    assert again.exit_code == 1 and "already on the list" in again.stderr
    project.write("list.csv", "email\nANN@XN--EXMPLE-CUA.COM\nann@exämple.com\n")
    imported = project.run("subscribers", "import", "list.csv")
    assert "1 already subscribed" in imported.stdout and "1 repeated" in imported.stdout
    assert project.run("subscribers", "unsubscribe", "ann@xn--exmple-cua.com").exit_code == 0
    assert {e: r["status"] for e, r in people(project).items()} == {
        "ann@xn--exmple-cua.com": "unsubscribed"
    }
    readd = project.run("subscribers", "add", "bob@exämple.com")
    assert readd.exit_code == 0
    project.run("subscribers", "remove", "bob@xn--exmple-cua.com", "--erase")
    assert project.run("subscribers", "add", "bob@exämple.com").exit_code == 1


# ---- names and control characters ----------------------------------------------------------------


@pytest.mark.parametrize("bad", ["Ann\r\nBcc: x@example.com", "Ann\x00", "A\x85nn"])
def test_control_characters_in_a_name_are_refused_at_add(project: Project, bad: str) -> None:
    before = project.snapshot()
    result = project.run("subscribers", "add", "ann@example.com", "--first-name", bad)
    assert result.exit_code == 1
    assert "the first name" in result.stderr and "contains a control character" in result.stderr
    assert project.snapshot() == before


def test_control_characters_are_refused_by_line_at_import(project: Project) -> None:
    project.write(
        "list.csv",
        'email,name\nann@example.com,Ann\n"bob@example.com","Bob\rEvil"\n"eve\x00@example.com",Eve\n',
    )
    result = project.run("subscribers", "import", "list.csv")
    assert result.exit_code == 1
    assert "line 3: the name 'Bob\\rEvil' contains a control character (U+000D)" in result.stderr
    assert "line 5: the address" in result.stderr  # the CR in line 3 is a line break
    assert list(people(project)) == ["ann@example.com"]


def test_show_prints_status_names_consent_events_and_deliveries(project: Project) -> None:
    project.run("subscribers", "add", "ann@example.com", "--name", "Ann Lee")
    project.run("subscribers", "unsubscribe", "ann@example.com")
    human = project.run("subscribers", "show", "ann@example.com")
    assert human.exit_code == 0, human.output
    assert "ann@example.com  unsubscribed" in human.stdout
    assert "name: Ann Lee" in human.stdout
    assert "suppressed: unsubscribed" in human.stdout
    data = json.loads(project.run("subscribers", "show", "ann@example.com", "--json").stdout)
    assert [e["kind"] for e in data["events"]] == ["subscribed", "unsubscribed"]
    assert data["deliveries"] == []
    missing = project.run("subscribers", "show", "nobody@example.com")
    assert missing.exit_code == 1


def test_the_migration_splits_names_canonicalises_domains_and_downgrades(
    project: Project,
) -> None:
    from alembic import command
    from sqlalchemy import text

    cfg = db.alembic_config(project.engine)
    command.downgrade(cfg, "0002")
    with project.engine.begin() as conn:
        for email, name in (
            ("phyllis@example.com", "Phyllis Grant"),
            ("jennie@example.com", "Jennie, Feature"),
            ("zoe@exämple.com", ""),
        ):
            conn.execute(
                text(
                    "INSERT INTO subscribers (email, name, status, source, created_at) "
                    "VALUES (:e, :n, 'active', 'cli', CURRENT_TIMESTAMP)"
                ),
                {"e": email, "n": name},
            )
    command.upgrade(cfg, "head")
    got = {e: (r["first_name"], r["last_name"]) for e, r in people(project).items()}
    assert got == {
        "phyllis@example.com": ("Phyllis", "Grant"),
        "jennie@example.com": ("Jennie", "Feature"),
        "zoe@xn--exmple-cua.com": ("", ""),
    }
    command.downgrade(cfg, "0002")
    with project.engine.connect() as conn:
        names = dict(conn.execute(text("SELECT email, name FROM subscribers")).all())
    assert names["phyllis@example.com"] == "Phyllis Grant"
    assert names["jennie@example.com"] == "Jennie Feature"
    command.upgrade(cfg, "head")
