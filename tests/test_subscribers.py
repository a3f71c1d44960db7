"""Subscribers, driven through `newsletter subscribers ...`."""

from __future__ import annotations

import csv
import io
import json

import pytest

from newsletter.errors import InputError
from newsletter.subscribers import normalise_email
from tests.conftest import Project


def listing(project: Project, *args: str) -> list[dict[str, object]]:
    result = project.run("subscribers", "list", "--json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def events(project: Project) -> list[tuple[object, object, object]]:
    return [(e["subscriber_id"], e["kind"], e["via"]) for e in project.rows("subscriber_events")]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Ann@Example.COM", "ann@example.com"),
        ("  bob@example.org\t", "bob@example.org"),
        ("o'neil+tips@sub.example.co.uk", "o'neil+tips@sub.example.co.uk"),
        ("Zoë@exämple.com", "zoë@xn--exmple-cua.com"),
        ("ZOË@XN--EXMPLE-CUA.COM", "zoë@xn--exmple-cua.com"),
    ],
)
def test_addresses_are_normalised(raw: str, expected: str) -> None:
    assert normalise_email(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "bad@",
        "@example.com",
        "a@b",
        "a b@example.com",
        "x@localhost",
        "a..b@example.com",
        "ann@example.test",
    ],
)
def test_invalid_addresses_are_refused(raw: str) -> None:
    with pytest.raises(InputError, match="is not a valid email address"):
        normalise_email(raw)


def test_add_and_case_insensitive_duplicates(project: Project) -> None:
    result = project.run("subscribers", "add", " Ann@Example.com ", "--name", "Ann")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "added ann@example.com"
    before = project.snapshot()
    again = project.run("subscribers", "add", "ANN@example.COM")
    assert again.exit_code == 1
    assert again.stderr.strip() == "error: ann@example.com is already on the list (active)"
    assert project.snapshot() == before
    (row,) = listing(project)
    assert (row["email"], row["first_name"], row["last_name"], row["status"]) == (
        "ann@example.com",
        "Ann",
        "",
        "active",
    )
    assert events(project) == [(row["id"], "subscribed", "cli")]


def test_add_invalid_address_changes_nothing(project: Project) -> None:
    before = project.snapshot()
    result = project.run("subscribers", "add", "ann@@example.com")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: 'ann@@example.com' is not a valid email address")
    assert len(result.stderr.strip().splitlines()) == 1
    assert project.snapshot() == before


def test_unsubscribe_and_resubscribe_write_events(project: Project) -> None:
    project.run("subscribers", "add", "ann@example.com")
    out = project.run("subscribers", "unsubscribe", "ANN@example.com")
    assert out.exit_code == 0 and out.stdout.strip() == "unsubscribed ann@example.com"
    assert listing(project, "--status", "unsubscribed")[0]["unsubscribed_at"] is not None
    again = project.run("subscribers", "unsubscribe", "ann@example.com")
    assert again.stdout.strip() == "ann@example.com was already unsubscribed"
    no_reason = project.run("subscribers", "resubscribe", "ann@example.com")
    assert no_reason.exit_code == 2 and "--reason" in no_reason.stderr
    back = project.run("subscribers", "resubscribe", "ann@example.com", "--reason", "asked me")
    assert back.exit_code == 0, back.output
    assert listing(project, "--status", "active")[0]["email"] == "ann@example.com"
    assert [kind for _, kind, _ in events(project)] == [
        "subscribed",
        "unsubscribed",
        "resubscribed",
    ]


def test_unknown_address(project: Project) -> None:
    result = project.run("subscribers", "remove", "nobody@example.com")
    assert result.exit_code == 1
    assert result.stderr.strip() == "error: no subscriber with address 'nobody@example.com'"


def test_remove_keeps_a_log_row_and_erase_wipes_history(project: Project) -> None:
    project.run("subscribers", "add", "ann@example.com")
    project.run("subscribers", "add", "bob@example.com")
    assert project.run("subscribers", "remove", "ann@example.com").exit_code == 0
    assert [r["email"] for r in listing(project)] == ["bob@example.com"]
    removed = [e for e in project.rows("subscriber_events") if e["kind"] == "removed"]
    assert [(e["subscriber_id"], e["detail"]) for e in removed] == [(None, "ann@example.com")]
    bob_id = listing(project)[0]["id"]
    assert project.run("subscribers", "remove", "bob@example.com", "--erase").exit_code == 0
    assert all(e["subscriber_id"] != bob_id for e in project.rows("subscriber_events"))
    assert listing(project) == []


def test_list_filters_by_status_and_refuses_unknown_status(project: Project) -> None:
    project.run("subscribers", "add", "ann@example.com")
    project.run("subscribers", "add", "bob@example.com")
    project.run("subscribers", "unsubscribe", "bob@example.com")
    assert [r["email"] for r in listing(project, "--status", "active")] == ["ann@example.com"]
    human = project.run("subscribers", "list", "--status", "unsubscribed")
    assert "bob@example.com" in human.stdout and "1 subscribers (unsubscribed)" in human.stdout
    bad = project.run("subscribers", "list", "--status", "gone")
    assert bad.exit_code == 2


def test_export_writes_every_subscriber(project: Project) -> None:
    project.run("subscribers", "add", "ann@example.com", "--name", "Ann")
    project.run("subscribers", "add", "bob@example.com")
    project.run("subscribers", "unsubscribe", "bob@example.com")
    to_stdout = project.run("subscribers", "export")
    rows = list(csv.DictReader(io.StringIO(to_stdout.stdout)))
    assert [(r["email"], r["first_name"], r["status"]) for r in rows] == [
        ("ann@example.com", "Ann", "active"),
        ("bob@example.com", "", "unsubscribed"),
    ]
    result = project.run("subscribers", "export", "out.csv")
    assert result.stdout.strip() == "exported 2 subscribers to out.csv"
    assert (project.dir / "out.csv").read_text(encoding="utf-8") == to_stdout.stdout


# ---- import ---------------------------------------------------------------------------------


def test_import_reports_bad_rows_by_line_and_imports_the_rest(project: Project) -> None:
    project.write(
        "list.csv",
        "\ufeffEmail,Name,Company\n"
        "ann@example.com,Ann,Acme\n"
        "not-an-address,Bad,Acme\n"
        "\n"
        "BOB@example.com ,Bob,\n"
        "bob@example.com,Bob again,\n"
        ",Nobody,\n",
    )
    result = project.run("subscribers", "import", "list.csv")
    assert result.exit_code == 1
    assert "ignored columns: Company" in result.stdout
    assert "list.csv: line 3: 'not-an-address' is not a valid email address" in result.stderr
    assert (
        "list.csv: line 6: skipped: bob@example.com appears again (first on line 5)"
        in result.stderr
    )
    assert "line 7: '(empty)' is not a valid email address" in result.stderr
    assert (
        "imported 2 of 5 rows (2 active); 0 already subscribed, 0 opted out by the file, "
        "0 suppressed, 1 repeated, 2 refused" in result.stdout
    )
    rows = listing(project)
    assert [(r["email"], r["first_name"], r["status"], r["source"]) for r in rows] == [
        ("ann@example.com", "Ann", "active", "import"),
        ("bob@example.com", "Bob", "active", "import"),
    ]
    assert [kind for _, kind, _ in events(project)] == ["imported", "imported"]


def test_a_clean_import_exits_0_and_a_rerun_changes_nothing(project: Project) -> None:
    project.write("list.csv", "email,name\nann@example.com,Ann\nbob@example.com,Bob\n")
    first = project.run("subscribers", "import", "list.csv")
    assert first.exit_code == 0, first.output
    before = project.snapshot()
    second = project.run("subscribers", "import", "list.csv")
    assert second.exit_code == 0
    assert "imported 0 of 2 rows; 2 already subscribed" in second.stdout
    assert project.snapshot() == before


def test_import_never_resubscribes_an_unsubscribed_address(project: Project) -> None:
    project.run("subscribers", "add", "ann@example.com")
    project.run("subscribers", "unsubscribe", "ann@example.com")
    project.write("list.csv", "email\nAnn@Example.com\n")
    result = project.run("subscribers", "import", "list.csv")
    assert result.exit_code == 0
    assert (
        "line 2: skipped: ann@example.com is unsubscribed: not resubscribed by an import"
        in result.stderr
    )
    assert listing(project)[0]["status"] == "unsubscribed"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            b"name,phone\nAnn,1\n",
            "line 1: no email column in the header (found: name, phone); "
            'name it with --map, e.g. --map "Adresse=email"',
        ),
        (b"", "the file is empty; it needs a header row (e.g. 'email,first_name')"),
        (
            b"email\nann@example.com\nzo\xe9@example.com\n",
            "not UTF-8 (byte 0xe9 on line 3); save it as UTF-8 (in Excel: Save As, 'CSV UTF-8')",
        ),
    ],
)
def test_an_unusable_csv_is_refused_whole(project: Project, content: bytes, message: str) -> None:
    path = project.write("list.csv", content)
    before = project.snapshot()
    result = project.run("subscribers", "import", "list.csv")
    assert result.exit_code == 1
    assert result.stderr.strip() == f"error: {path.name}: {message}"
    assert project.snapshot() == before


def test_import_of_many_rows_uses_chunks(project: Project) -> None:
    lines = ["email,name"] + [f"user{i}@example.com,User {i}" for i in range(12_345)]
    project.write("big.csv", "\n".join(lines) + "\n")
    result = project.run("subscribers", "import", "big.csv")
    assert result.exit_code == 0, result.output
    assert "imported 12345 of 12345 rows" in result.stdout
    status = json.loads(project.run("status", "--json").stdout)
    assert status["subscribers"]["active"] == 12_345
    assert len(project.rows("subscriber_events")) == 12_345
