"""Loading config.toml and NEWSLETTER_* variables."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsletter.config import load_settings
from newsletter.errors import ConfigError
from tests.conftest import Project


def load(tmp_path: Path, toml: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    path = tmp_path / "config.toml"
    path.write_text(toml, encoding="utf-8")
    return load_settings(path, env=env or {})


def test_defaults_without_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    s = load_settings(None, env={})
    assert s.provider.name == "outbox"
    assert s.schedule.day == "tue" and s.schedule.time == "09:00"
    assert s.database.url == "sqlite:///newsletter.db"
    assert [link.label for link in s.links][0] == "Signup for FREE Tips!"


def test_file_values_and_env_overrides(tmp_path: Path) -> None:
    s = load(
        tmp_path,
        '[provider]\nname = "postmark"\nconcurrency = 2\nrate_limit = 10\n',
        {"NEWSLETTER_PROVIDER_CONCURRENCY": "8", "NEWSLETTER_NEWSLETTER_ALLOW_HTML": "true"},
    )
    assert s.provider.name == "postmark"
    assert s.provider.concurrency == 8
    assert s.provider.rate_limit == 10.0
    assert s.newsletter.allow_html is True


def test_relative_paths_are_taken_from_the_config_folder(tmp_path: Path) -> None:
    s = load(tmp_path, '[provider]\noutbox_dir = "out"\n')
    assert s.path(s.provider.outbox_dir) == tmp_path / "out"


@pytest.mark.parametrize(
    ("toml", "env", "message"),
    [
        (
            "[newsletter]\nfrom_emial = 'x'\n",
            {},
            "unknown key 'from_emial' in [newsletter] (did you mean 'from_email'?)",
        ),
        ("[provder]\nname = 'x'\n", {}, "unknown section [provder] (did you mean 'provider'?)"),
        (
            "[provider]\nconcurrency = 'four'\n",
            {},
            "[provider] concurrency must be a whole number, got 'four'",
        ),
        (
            "[provider]\nconcurrency = true\n",
            {},
            "[provider] concurrency must be a whole number, got True",
        ),
        ("[newsletter]\nallow_html = 'yes'\n", {}, "[newsletter] allow_html must be true or false"),
        (
            "[provider]\nname = 'postmrk'\n",
            {},
            "[provider] name: 'postmrk' is not one of outbox, postmark",
        ),
        ("[schedule]\nday = 'tuesday'\n", {}, "[schedule] day: 'tuesday' is not one of mon, tue"),
        (
            "[schedule]\ntime = '9am'\n",
            {},
            "[schedule] time: must be HH:MM on a 24-hour clock, got '9am'",
        ),
        (
            "[schedule]\ntimezone = 'Mars/Olympus'\n",
            {},
            "[schedule] timezone: unknown time zone 'Mars/Olympus'",
        ),
        ("[provider]\nconcurrency = 0\n", {}, "[provider] concurrency: must be 1 or more, got 0"),
        (
            "[newsletter]\nbase_url = 'tips.example.com'\n",
            {},
            "[newsletter] base_url: must start with http",
        ),
        (
            "[newsletter]\nfrom_email = 'tips'\n",
            {},
            "[newsletter] from_email: is not an email address: 'tips'",
        ),
        ("[[links]]\nlabel = 'x'\n", {}, "links entry 1 needs a non-empty label and url"),
        (
            "[[links]]\nlabel = 'x'\nurl = '/'\nhref = '/'\n",
            {},
            "unknown key 'href' in links entry 1",
        ),
        ("[newsletter\n", {}, "not valid TOML"),
        (
            "",
            {"NEWSLETTER_PROVIDER_CONCURENCY": "2"},
            "unknown environment variable NEWSLETTER_PROVIDER_CONCURENCY (did you mean 'concurrency'?)",
        ),
        (
            "",
            {"NEWSLETTER_WEB_PORT": "eighty"},
            "NEWSLETTER_WEB_PORT must be a whole number, got 'eighty'",
        ),
    ],
)
def test_bad_config_is_refused_by_name(
    tmp_path: Path, toml: str, env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, toml, env)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_secrets_come_from_env_and_never_show_in_repr(tmp_path: Path) -> None:
    s = load(
        tmp_path,
        "",
        {
            "NEWSLETTER_API_KEY": "pm-key-123456",
            "NEWSLETTER_SECRET_KEY": "sign-abcdef",
            "NEWSLETTER_OLD_SECRET_KEYS": "old-1, old-2",
        },
    )
    assert s.secrets.api_key == "pm-key-123456"
    assert s.require_secret_key() == ["sign-abcdef", "old-1", "old-2"]
    assert "pm-key-123456" not in repr(s) and "sign-abcdef" not in repr(s)


def test_a_secret_in_the_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown key 'api_key' in \\[provider\\]"):
        load(tmp_path, "[provider]\napi_key = 'oops'\n")


def test_missing_signing_key_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="NEWSLETTER_SECRET_KEY is not set"):
        load(tmp_path, "").require_secret_key()


def test_cli_reports_a_bad_config_in_one_line(project: Project) -> None:
    project.config.write_text(project.config.read_text() + "\n[web]\nprot = 80\n")
    result = project.run("status")
    assert result.exit_code == 1
    assert (
        result.stderr.strip()
        == f"error: {project.config}: unknown key 'prot' in [web] (did you mean 'port'?)"
    )


def test_explicit_missing_config_file(project: Project) -> None:
    result = project.run("--config", "nowhere.toml", "status")
    assert result.exit_code == 1
    assert result.stderr.strip() == "error: nowhere.toml: config file not found"


def test_example_config_documents_every_key(tmp_path: Path) -> None:
    import dataclasses
    import tomllib

    from newsletter.config import Settings
    from newsletter.resources import example_config

    data = tomllib.loads(example_config().read_text(encoding="utf-8"))
    defaults = Settings()
    for section in ("newsletter", "database", "schedule", "provider", "alerts", "web", "checks"):
        expected = dataclasses.asdict(getattr(defaults, section))
        assert set(data[section]) == set(expected), section
        for key, value in data[section].items():
            if not (section == "newsletter" and key == "postal_address"):
                assert value == expected[key], f"[{section}] {key}"
    assert "links" not in data, "no [[links]]: the footer defaults to what the app serves"
    text = example_config().read_text(encoding="utf-8")
    for link in defaults.links:
        assert f"{link.label} ({link.url})" in text, "the comment shows the default footer"


def test_footer_defaults_to_what_the_app_serves_plus_the_home_page(tmp_path: Path) -> None:
    from newsletter.config import settings_from_mapping

    plain = settings_from_mapping({}, {})
    assert [(link.label, link.url) for link in plain.links] == [
        ("Signup for FREE Tips!", "/signup"),
        ("Read Past Tips", "/archive"),
    ]
    home = settings_from_mapping({"newsletter": {"site_url": "https://www.example.com"}}, {})
    assert home.links[-1].label == "Visit Our Home Page"
    assert home.links[-1].url == "https://www.example.com"
    with pytest.raises(ConfigError, match=r"\[newsletter\] site_url: must be empty or start"):
        settings_from_mapping({"newsletter": {"site_url": "www.example.com"}}, {})
