"""The tip queue, driven through `newsletter tips ...`."""

from __future__ import annotations

import json

import pytest

from tests.conftest import Project, tip_text


def queue_slugs(project: Project) -> list[str]:
    result = project.run("tips", "list", "--json")
    assert result.exit_code == 0, result.output
    return [t["slug"] for t in json.loads(result.stdout)]


def add(project: Project, *names: str) -> None:
    paths = [
        str(project.write(f"tips/{n}.md", tip_text(title=n.replace("-", " ").title())))
        for n in names
    ]
    result = project.run("tips", "add", *paths)
    assert result.exit_code == 0, result.output


def test_added_tips_queue_in_order_with_derived_slugs(project: Project) -> None:
    path = project.write(
        "tips/a.md",
        tip_text(
            "While I’ve Got You on the Phone…", categories="[Empathy, phones]", takeaway="Plan."
        ),
    )
    result = project.run("tips", "add", str(path))
    assert result.exit_code == 0, result.output
    assert (
        "queued #1: While I’ve Got You on the Phone… (while-ive-got-you-on-the-phone)"
        in result.stdout
    )
    shown = json.loads(
        project.run("tips", "show", "while-ive-got-you-on-the-phone", "--json").stdout
    )
    assert shown["categories"] == ["empathy", "phones"]
    assert shown["takeaway"] == "Plan."
    assert shown["body_md"] == "Find the point.\n"
    assert shown["position"] == 1


def test_list_and_show_human_output(project: Project) -> None:
    add(project, "first-tip", "second-tip")
    listing = project.run("tips", "list")
    assert listing.exit_code == 0
    assert listing.stdout.index("first-tip") < listing.stdout.index("second-tip")
    shown = project.run("tips", "show", "2")
    assert "Second Tip" in shown.stdout and "#2 in the queue" in shown.stdout


def test_move_renumbers_without_gaps(project: Project) -> None:
    add(project, "a-tip", "b-tip", "c-tip", "d-tip")
    assert project.run("tips", "move", "d-tip", "--to", "1").exit_code == 0
    assert queue_slugs(project) == ["d-tip", "a-tip", "b-tip", "c-tip"]
    assert project.run("tips", "move", "d-tip", "--to", "3").exit_code == 0
    assert queue_slugs(project) == ["a-tip", "b-tip", "d-tip", "c-tip"]
    positions = [t["position"] for t in json.loads(project.run("tips", "list", "--json").stdout)]
    assert positions == [1, 2, 3, 4]


def test_move_out_of_range_is_refused(project: Project) -> None:
    add(project, "a-tip", "b-tip")
    before = project.snapshot()
    result = project.run("tips", "move", "a-tip", "--to", "5")
    assert result.exit_code == 1
    assert result.stderr.strip() == "error: position 5 is out of range: the queue has 2 tips"
    assert project.snapshot() == before


def test_skip_leaves_the_queue_but_stays_on_record(project: Project) -> None:
    add(project, "a-tip", "b-tip", "c-tip")
    assert project.run("tips", "skip", "a-tip").exit_code == 0
    assert queue_slugs(project) == ["b-tip", "c-tip"]
    everything = json.loads(project.run("tips", "list", "--all", "--json").stdout)
    assert [(t["slug"], t["status"], t["position"]) for t in everything] == [
        ("b-tip", "queued", 1),
        ("c-tip", "queued", 2),
        ("a-tip", "skipped", None),
    ]
    again = project.run("tips", "skip", "a-tip")
    assert again.exit_code == 1
    assert "is skipped, not queued" in again.stderr


def test_remove_closes_the_gap(project: Project) -> None:
    add(project, "a-tip", "b-tip", "c-tip")
    assert project.run("tips", "remove", "b-tip").exit_code == 0
    assert queue_slugs(project) == ["a-tip", "c-tip"]
    assert [t["position"] for t in json.loads(project.run("tips", "list", "--json").stdout)] == [
        1,
        2,
    ]


def test_unknown_tip_reference(project: Project) -> None:
    result = project.run("tips", "show", "no-such-tip")
    assert result.exit_code == 1
    assert (
        result.stderr.strip()
        == "error: no tip with id or slug 'no-such-tip' (see `newsletter tips list --all`)"
    )


def test_import_dir_queues_by_file_name_and_skips_present_tips(project: Project) -> None:
    project.write("lib/02-b.md", tip_text("B Tip"))
    project.write("lib/01-a.md", tip_text("A Tip"))
    first = project.run("tips", "import", str(project.dir / "lib"))
    assert first.exit_code == 0, first.output
    assert queue_slugs(project) == ["a-tip", "b-tip"]
    project.write("lib/03-c.md", tip_text("C Tip"))
    second = project.run("tips", "import", str(project.dir / "lib"))
    assert second.exit_code == 0
    assert "2 already present" in second.stdout
    assert queue_slugs(project) == ["a-tip", "b-tip", "c-tip"]


BAD_TIPS = {
    "no title": (
        tip_text().replace("title: Identify Your Point of Empathy\n", "takeaway: x\n"),
        "front matter needs a 'title'",
    ),
    "empty body": ("---\ntitle: T\n---\n   \n", "the tip has no body below the front matter"),
    "unknown key": (
        tip_text().replace("title:", "titel: x\ntitle:"),
        "front matter has unknown key 'titel' (did you mean 'title'?)",
    ),
    "invalid yaml": ("---\ntitle: [unclosed\n---\nBody\n", "front matter is not valid YAML"),
    "no front matter": ("Just a body\n", "no front matter"),
    "bad categories": (tip_text(categories="{a: 1}"), "'categories' must be a list of names"),
    "bad slug": (tip_text(slug="Not A Slug"), "slug 'Not A Slug' must be lower-case"),
}


@pytest.mark.parametrize("case", sorted(BAD_TIPS))
def test_a_bad_tip_file_is_refused_with_one_line_naming_it(project: Project, case: str) -> None:
    content, message = BAD_TIPS[case]
    path = project.write("tips/bad.md", content)
    before = project.snapshot()
    result = project.run("tips", "add", str(path))
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith(f"error: {path}: ")
    assert message in lines[0]
    assert lines[1:] == ["error: no tips were added"]
    assert "Traceback" not in result.output
    assert project.snapshot() == before


def test_a_tip_that_is_not_utf8_is_refused(project: Project) -> None:
    path = project.write("tips/latin1.md", tip_text(body="Caf\u00e9").encode("latin-1"))
    result = project.run("tips", "add", str(path))
    assert result.exit_code == 1
    assert f"{path}: not UTF-8 (byte 0xe9 on line 4)" in result.stderr


def test_yaml_error_names_the_line(project: Project) -> None:
    path = project.write("tips/y.md", "---\ntitle: ok\ncategories: [a\n---\nBody\n")
    result = project.run("tips", "add", str(path))
    assert result.exit_code == 1
    assert "(line 4)" in result.stderr


def test_add_is_all_or_nothing_and_names_each_bad_file(project: Project) -> None:
    a = project.write("tips/a.md", tip_text("A Tip"))
    bad = project.write("tips/bad.md", "---\ntitle: Bad\n---\n")
    c = project.write("tips/c.md", tip_text("C Tip"))
    before = project.snapshot()
    result = project.run("tips", "add", str(a), str(bad), str(c))
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        f"error: {bad}: the tip has no body below the front matter",
        "error: no tips were added",
    ]
    assert project.snapshot() == before


def test_duplicate_slug_in_one_batch_and_against_the_database(project: Project) -> None:
    one = project.write("tips/one.md", tip_text("Same Title"))
    two = project.write("tips/two.md", tip_text("Same Title"))
    result = project.run("tips", "add", str(one), str(two))
    assert result.exit_code == 1
    assert f"{two}: duplicate slug 'same-title' (also in {one})" in result.stderr
    assert project.run("tips", "add", str(one)).exit_code == 0
    before = project.snapshot()
    again = project.run("tips", "add", str(two))
    assert again.exit_code == 1
    assert f"{two}: duplicate slug 'same-title' (already queued or sent)" in again.stderr
    assert project.snapshot() == before


def test_missing_file_is_a_clear_error(project: Project) -> None:
    result = project.run("tips", "add", "nope.md")
    assert result.exit_code == 1
    assert "nope.md: cannot read: No such file or directory" in result.stderr
