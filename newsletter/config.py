"""Load ``config.toml`` and ``NEWSLETTER_*`` environment variables into one frozen ``Settings``.

Order of precedence: built-in defaults < the TOML file < ``NEWSLETTER_<SECTION>_<KEY>``.
Secrets (API key, signing keys, webhook secret) come from the environment only. Unknown keys
and bad values are refused with a message that names them. This is the only module that reads
``os.environ``.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_type_hints
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from newsletter.errors import ConfigError
from newsletter.names import Greeting

PROVIDER_NAMES = ("outbox", "postmark", "sendgrid", "mailgun", "resend", "ses", "smtp")
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
CONFIG_ENV = "NEWSLETTER_CONFIG"
WELCOME_CHOICES = ("none", "latest")


@dataclass(frozen=True)
class NewsletterSection:
    name: str = "Customer Service Tip of the Week"
    from_email: str = "tips@example.com"
    from_name: str = "Customer Service Solutions, Inc."
    reply_to: str = ""
    postal_address: str = ""
    base_url: str = "http://127.0.0.1:8000"
    subject: str = "{{ tip.title }} | Customer Service Tip of the Week"
    templates_dir: str = ""
    allow_html: bool = False
    greeting: str = ""
    site_url: str = ""
    media_dir: str = "media"


@dataclass(frozen=True)
class DatabaseSection:
    url: str = "sqlite:///newsletter.db"


@dataclass(frozen=True)
class ScheduleSection:
    day: str = "tue"
    time: str = "09:00"
    timezone: str = "America/New_York"
    catch_up_hours: int = 48
    alert_email: str = ""  # older name of [alerts] email, still read


@dataclass(frozen=True)
class ProviderSection:
    name: str = "outbox"
    outbox_dir: str = "outbox"
    api_base: str = ""
    message_stream: str = "broadcast"
    domain: str = ""
    region: str = ""
    rate_limit: float = 0.0
    concurrency: int = 4
    batch_size: int = 0
    max_attempts: int = 8
    retry_cap_seconds: float = 300.0
    # A sender that has not written its heartbeat for this long is gone: its claims are
    # taken over. It beats every lease_seconds / 5.
    lease_seconds: int = 15
    smtp_tls: str = "starttls"  # starttls | tls | none (none: a relay on this machine only)
    smtp_ca_file: str = ""  # a CA bundle to trust (a relay with a private certificate)


@dataclass(frozen=True)
class AlertsSection:
    email: str = ""  # through the provider, like any email
    webhook_url: str = ""  # a JSON POST {"text": …}: Slack, Mattermost, Discord bridges, ntfy
    ping_url: str = ""  # a dead man's switch (healthchecks.io): /start, the URL itself, /fail
    # status --check fails when an edition is unfinished this long after its slot
    unfinished_after_minutes: int = 120


@dataclass(frozen=True)
class WebSection:
    host: str = "127.0.0.1"
    port: int = 8000
    # /metrics answers only with "Authorization: Bearer <this>"; empty: /metrics is off (404).
    # A secret: set it as NEWSLETTER_WEB_METRICS_TOKEN rather than in the file.
    metrics_token: str = field(default="", repr=False)


@dataclass(frozen=True)
class SignupSection:
    welcome: str = "none"
    confirm_interval_minutes: int = 10
    confirm_per_day: int = 3
    per_ip_limit: int = 5
    per_ip_window_minutes: int = 10


@dataclass(frozen=True)
class ChecksSection:
    """The pre-flight checks (`newsletter check`, and `send` before a new edition)."""

    spamassassin: bool = True
    network: bool = True
    timeout_seconds: float = 5.0


@dataclass(frozen=True)
class WebhooksSection:
    """What the webhook endpoints accept beyond their signatures."""

    # SES events come through SNS: only these topics (ARNs, comma-separated) are believed.
    ses_topic_arn: str = ""

    @property
    def ses_topics(self) -> tuple[str, ...]:
        """The SNS topic ARNs whose messages the SES endpoint takes (empty: none)."""
        return tuple(arn.strip() for arn in self.ses_topic_arn.split(",") if arn.strip())


@dataclass(frozen=True)
class Link:
    label: str
    url: str


# What this app serves; "Visit Our Home Page" is added when [newsletter] site_url is set.
DEFAULT_LINKS = (
    Link("Signup for FREE Tips!", "/signup"),
    Link("Read Past Tips", "/archive"),
)
HOME_LINK_LABEL = "Visit Our Home Page"


@dataclass(frozen=True)
class Secrets:
    """Secrets from the environment; never printed (``repr`` hides them)."""

    api_key: str = field(default="", repr=False)
    secret_key: str = field(default="", repr=False)
    old_secret_keys: tuple[str, ...] = field(default=(), repr=False)
    webhook_secret: str = field(default="", repr=False)
    # Read by boto3 itself; kept here only so that they can be scrubbed from any text.
    cloud: tuple[str, ...] = field(default=(), repr=False)


@dataclass(frozen=True)
class Settings:
    """Everything the program is configured with, loaded once."""

    newsletter: NewsletterSection = NewsletterSection()
    database: DatabaseSection = DatabaseSection()
    schedule: ScheduleSection = ScheduleSection()
    provider: ProviderSection = ProviderSection()
    alerts: AlertsSection = AlertsSection()
    web: WebSection = WebSection()
    signup: SignupSection = SignupSection()
    checks: ChecksSection = ChecksSection()
    webhooks: WebhooksSection = WebhooksSection()
    links: tuple[Link, ...] = DEFAULT_LINKS
    secrets: Secrets = field(default=Secrets(), repr=False)
    base_dir: Path = Path(".")
    source: Path | None = None

    def path(self, value: str) -> Path:
        """A path from the config, relative to the config file's folder."""
        p = Path(value).expanduser()
        return p if p.is_absolute() else self.base_dir / p

    @property
    def alert_email(self) -> str:
        """Where alert emails go: ``[alerts] email``, or the older ``[schedule] alert_email``."""
        return self.alerts.email or self.schedule.alert_email

    def require_secret_key(self) -> list[str]:
        """The signing keys, newest first; a clear error when none is set."""
        if not self.secrets.secret_key:
            raise ConfigError(
                "NEWSLETTER_SECRET_KEY is not set: links in emails are signed with it "
                "(make one with: python3 -c 'import secrets; print(secrets.token_urlsafe(32))')"
            )
        return [self.secrets.secret_key, *self.secrets.old_secret_keys]


_SECTIONS: dict[str, type[Any]] = {
    "newsletter": NewsletterSection,
    "database": DatabaseSection,
    "schedule": ScheduleSection,
    "provider": ProviderSection,
    "alerts": AlertsSection,
    "web": WebSection,
    "signup": SignupSection,
    "checks": ChecksSection,
    "webhooks": WebhooksSection,
}
_TOP_LEVEL = (*_SECTIONS, "links")


def find_config(explicit: str | Path | None, env: Mapping[str, str]) -> Path | None:
    """``--config``, then ``NEWSLETTER_CONFIG``, then ``./config.toml``; None if none exists."""
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise ConfigError(f"{path}: config file not found")
        return path
    if env.get(CONFIG_ENV):
        path = Path(env[CONFIG_ENV])
        if not path.is_file():
            raise ConfigError(f"{path}: config file not found (from {CONFIG_ENV})")
        return path
    default = Path("config.toml")
    return default if default.is_file() else None


def pass_to_children(settings: Settings) -> None:
    """Make processes started from this one (``serve --workers``) load the same config file."""
    if settings.source is not None:
        os.environ[CONFIG_ENV] = str(settings.source.resolve())


def load_settings(
    config_path: str | Path | None = None, env: Mapping[str, str] | None = None
) -> Settings:
    """Build the ``Settings`` from the config file (if any) and the environment."""
    env = os.environ if env is None else env
    path = find_config(config_path, env)
    data: dict[str, Any] = {}
    if path is not None:
        data = _read_toml(path)
    return settings_from_mapping(data, env, path)


def settings_from_mapping(
    data: Mapping[str, Any], env: Mapping[str, str], path: Path | None = None
) -> Settings:
    """Validate parsed TOML plus env overrides; raise ``ConfigError`` naming the bad key."""
    where = str(path) if path else "config"
    for key in data:
        if key not in _TOP_LEVEL:
            raise ConfigError(f"{where}: unknown section [{key}]{_suggest(key, _TOP_LEVEL)}")
    sections: dict[str, Any] = {}
    for name, cls in _SECTIONS.items():
        raw = data.get(name, {})
        if not isinstance(raw, dict):
            raise ConfigError(f"{where}: [{name}] must be a table")
        sections[name] = _build_section(name, cls, raw, env, where)
    links = _build_links(data.get("links"), where, sections["newsletter"].site_url)
    base_dir = path.resolve().parent if path else Path.cwd()
    settings = Settings(
        **sections,
        links=links,
        secrets=_secrets(env),
        base_dir=base_dir,
        source=path,
    )
    _validate(settings)
    return settings


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None


def _suggest(word: str, choices: tuple[str, ...] | list[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _build_section(
    name: str, cls: type[Any], raw: dict[str, Any], env: Mapping[str, str], where: str
) -> Any:
    hints = get_type_hints(cls)
    keys = [f.name for f in dataclasses.fields(cls)]
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in hints:
            raise ConfigError(f"{where}: unknown key '{key}' in [{name}]{_suggest(key, keys)}")
        values[key] = _check_type(f"[{name}] {key}", value, hints[key], where)
    prefix = f"NEWSLETTER_{name.upper()}_"
    for var, text in env.items():
        if not var.startswith(prefix):
            continue
        key = var[len(prefix) :].lower()
        if key not in hints:
            raise ConfigError(f"unknown environment variable {var}{_suggest(key, keys)}")
        values[key] = _parse_env(var, text, hints[key])
    return cls(**values)


def _check_type(label: str, value: Any, kind: Any, where: str) -> Any:
    ok = {
        str: isinstance(value, str),
        bool: isinstance(value, bool),
        int: isinstance(value, int) and not isinstance(value, bool),
        float: isinstance(value, int | float) and not isinstance(value, bool),
    }[kind]
    if not ok:
        wanted = {str: "a string", bool: "true or false", int: "a whole number", float: "a number"}
        raise ConfigError(f"{where}: {label} must be {wanted[kind]}, got {value!r}")
    return float(value) if kind is float else value


def _parse_env(var: str, text: str, kind: Any) -> Any:
    try:
        if kind is bool:
            lowered = text.strip().lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off", ""):
                return False
            raise ValueError(text)
        return kind(text)
    except ValueError:
        wanted = {bool: "true or false", int: "a whole number", float: "a number"}
        raise ConfigError(f"{var} must be {wanted.get(kind, 'text')}, got {text!r}") from None


def _build_links(raw: Any, where: str, site_url: str = "") -> tuple[Link, ...]:
    if raw is None:
        return (*DEFAULT_LINKS, Link(HOME_LINK_LABEL, site_url)) if site_url else DEFAULT_LINKS
    if not isinstance(raw, list):
        raise ConfigError(f"{where}: [[links]] must be a list of tables with label and url")
    links = []
    for i, item in enumerate(raw, start=1):
        if not isinstance(item, dict):
            raise ConfigError(f"{where}: links entry {i} must be a table with label and url")
        for key in item:
            if key not in ("label", "url"):
                raise ConfigError(
                    f"{where}: unknown key '{key}' in links entry {i}"
                    f"{_suggest(key, ('label', 'url'))}"
                )
        label, url = item.get("label"), item.get("url")
        if not isinstance(label, str) or not label or not isinstance(url, str) or not url:
            raise ConfigError(f"{where}: links entry {i} needs a non-empty label and url")
        links.append(Link(label, url))
    return tuple(links)


def _secrets(env: Mapping[str, str]) -> Secrets:
    old = tuple(
        k.strip() for k in env.get("NEWSLETTER_OLD_SECRET_KEYS", "").split(",") if k.strip()
    )
    return Secrets(
        api_key=env.get("NEWSLETTER_API_KEY", ""),
        secret_key=env.get("NEWSLETTER_SECRET_KEY", ""),
        old_secret_keys=old,
        webhook_secret=env.get("NEWSLETTER_WEBHOOK_SECRET", ""),
        cloud=tuple(env[k] for k in ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN") if env.get(k)),
    )


# arn:<partition>:sns:<region>:<12-digit account>:<topic name>
SNS_TOPIC_ARN = re.compile(
    r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$"
)
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# Values that end up in an email header: a CR or LF there would forge headers.
_HEADER_BOUND = (
    ("newsletter", "name"),
    ("newsletter", "from_email"),
    ("newsletter", "from_name"),
    ("newsletter", "reply_to"),
    ("newsletter", "subject"),
    ("alerts", "email"),
    ("schedule", "alert_email"),
)


def _validate(s: Settings) -> None:
    def bad(key: str, message: str) -> ConfigError:
        return ConfigError(f"{key}: {message}")

    for section, key in _HEADER_BOUND:
        value = getattr(getattr(s, section), key)
        if _CONTROL.search(value):
            raise bad(
                f"[{section}] {key}",
                "must be one line without control characters (it goes into an email header)",
            )
    if not s.newsletter.base_url.startswith(("http://", "https://")):
        raise bad(
            "[newsletter] base_url",
            f"must start with http:// or https://, got {s.newsletter.base_url!r}",
        )
    if s.newsletter.site_url and not s.newsletter.site_url.startswith(("http://", "https://")):
        raise bad(
            "[newsletter] site_url",
            f"must be empty or start with http:// or https://, got {s.newsletter.site_url!r}",
        )
    if s.checks.timeout_seconds <= 0:
        raise bad("[checks] timeout_seconds", "must be more than 0")
    for label, value in (
        ("[newsletter] from_email", s.newsletter.from_email),
        ("[newsletter] reply_to", s.newsletter.reply_to),
        ("[alerts] email", s.alert_email),
    ):
        if value and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
            raise bad(label, f"is not an email address: {value!r}")
    for key in ("webhook_url", "ping_url"):
        value = getattr(s.alerts, key)
        if value and not value.startswith(("http://", "https://")):
            raise bad(f"[alerts] {key}", "must start with http:// or https://")
    if s.alerts.unfinished_after_minutes < 1:
        raise bad("[alerts] unfinished_after_minutes", "must be 1 or more")
    _choice("[schedule] day", s.schedule.day, DAY_NAMES)
    if not _TIME.match(s.schedule.time):
        raise bad("[schedule] time", f"must be HH:MM on a 24-hour clock, got {s.schedule.time!r}")
    try:
        ZoneInfo(s.schedule.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise bad(
            "[schedule] timezone",
            f"unknown time zone {s.schedule.timezone!r} "
            "(use an IANA name such as 'America/New_York')",
        ) from None
    if s.schedule.catch_up_hours < 0:
        raise bad("[schedule] catch_up_hours", "must be 0 or more")
    p = s.provider
    _choice("[provider] name", p.name, PROVIDER_NAMES)
    _choice("[provider] smtp_tls", p.smtp_tls, ("starttls", "tls", "none"))
    for key, value, low in (
        ("rate_limit", p.rate_limit, 0),
        ("batch_size", p.batch_size, 0),
        ("concurrency", p.concurrency, 1),
        ("max_attempts", p.max_attempts, 1),
        ("retry_cap_seconds", p.retry_cap_seconds, 0),
        ("lease_seconds", p.lease_seconds, 3),
    ):
        if value < low:
            raise bad(f"[provider] {key}", f"must be {low} or more, got {value}")
    if not 1 <= s.web.port <= 65535:
        raise bad("[web] port", f"must be between 1 and 65535, got {s.web.port}")
    if not s.database.url.strip():
        raise bad("[database] url", "must not be empty")
    Greeting.compile(s.newsletter.greeting)
    _choice("[signup] welcome", s.signup.welcome, WELCOME_CHOICES)
    for key in ("confirm_interval_minutes", "confirm_per_day", "per_ip_limit"):
        if getattr(s.signup, key) < 0:
            raise bad(f"[signup] {key}", "must be 0 or more")
    if s.signup.per_ip_window_minutes < 1:
        raise bad("[signup] per_ip_window_minutes", "must be 1 or more")
    for arn in s.webhooks.ses_topics:
        if not SNS_TOPIC_ARN.match(arn):
            raise bad(
                "[webhooks] ses_topic_arn",
                f"{arn!r} is not an SNS topic ARN (arn:aws:sns:<region>:<account>:<topic>)",
            )


def _choice(label: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(
            f"{label}: {value!r} is not one of {', '.join(choices)}{_suggest(value, choices)}"
        )
