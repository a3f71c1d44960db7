"""SMTP: `newsletter send` against django-post-office's `send_queued_mail`, same sink, same mail.

    python bench/smtp.py                 # 20,000 messages, 3 runs
    python bench/smtp.py --messages 5000 --runs 1

Both send the same number of messages of the same size (the edition our renderer makes of a
~1,100-word tip: ~20 KB as MIME) to the same local SMTP sink (aiosmtpd, in a process of its
own, counting what it accepts). django-post-office is the peer the issue names: a Django app
that queues mail in its database and sends it with `send_queued_mail` (one process, its
default threads), through Django's SMTP backend. It is installed into a virtual environment of
the bench's own (`--peers`, default bench/.venv-peers, made on first use from PyPI), never into
ours. Each side runs in a fresh process that reports its CPU time and peak RSS (VmHWM) at
exit; its rate is messages / wall time of the whole command. Goal (issue 13): newsletter at
>= 2x the peer's rate.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from throughput import KEY, MEASURED, REPORT, SECRET, TIP  # noqa: E402

SINK = textwrap.dedent(
    """
    import asyncio, sys, time
    from aiosmtpd.controller import Controller
    class Count:
        n = 0
        async def handle_DATA(self, server, session, envelope):
            Count.n += 1
            return "250 OK"
    c = Controller(Count(), hostname="127.0.0.1", port=int(sys.argv[1]))
    c.start()
    print("ready", flush=True)
    for line in sys.stdin:
        print(Count.n, flush=True)
    c.stop()
    """
)

DJANGO_SETTINGS = textwrap.dedent(
    """
    SECRET_KEY = "bench"
    INSTALLED_APPS = ["django.contrib.contenttypes", "post_office"]
    DATABASES = {{"default": {{"ENGINE": "django.db.backends.sqlite3", "NAME": "{db}"}}}}
    EMAIL_BACKEND = "post_office.EmailBackend"
    POST_OFFICE = {{"BACKENDS": {{"default": "django.core.mail.backends.smtp.EmailBackend"}}}}
    EMAIL_HOST = "127.0.0.1"
    EMAIL_PORT = {port}
    USE_TZ = True
    DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
    """
)


class Sink:
    """The SMTP sink in a process of its own."""

    def __init__(self, port: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", SINK, str(port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None and self.proc.stdout.readline().strip() == "ready"

    def count(self) -> int:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write("?\n")
        self.proc.stdin.flush()
        return int(self.proc.stdout.readline())

    def stop(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def peers_python(venv: Path) -> Path:
    """The peer's interpreter; its environment is made on first use."""
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "django", "django-post-office"],
            check=True,
        )
    return python


def measured(command: list[str], env: dict[str, str], cwd: Path) -> dict[str, float]:
    """Run a command; its wall time, and the CPU time and peak RSS it reported at exit."""
    report = cwd / f"report-{time.monotonic_ns()}.json"
    start = time.perf_counter()
    done = subprocess.run(
        command, env={**env, "BENCH_REPORT": str(report)}, cwd=cwd, capture_output=True
    )
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{command[:3]} exited {done.returncode}: {done.stderr.decode()[-2000:]}")
    return {"seconds": seconds, **json.loads(report.read_text())}


# ---- newsletter ------------------------------------------------------------------------------


def newsletter_run(folder: Path, messages: int, port: int) -> dict[str, float]:
    config = folder / "config.toml"
    config.write_text(
        textwrap.dedent(
            f"""\
            [newsletter]
            postal_address = "100 Main Street, Springfield, IL 62701, USA"
            base_url = "https://tips.example.com"
            [database]
            url = "sqlite:///{folder / "newsletter.db"}"
            [provider]
            name = "smtp"
            api_base = "smtp://127.0.0.1:{port}"
            smtp_tls = "none"
            [checks]
            spamassassin = false
            network = false
            """
        )
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"} | {
        "NEWSLETTER_CONFIG": str(config),
        "NEWSLETTER_SECRET_KEY": SECRET,
        "NEWSLETTER_API_KEY": KEY,
    }
    setup = textwrap.dedent(
        f"""
        from pathlib import Path
        from newsletter import db, imports, tips
        from newsletter.config import load_settings
        from newsletter.suppression import SuppressionList
        settings = load_settings({str(config)!r})
        engine = db.make_engine(db.resolve_url(settings.database.url, settings.base_dir))
        db.upgrade(engine)
        folder = Path({str(folder)!r})
        (folder / "list.csv").write_text(
            "email,first_name\\n" + "".join(f"p{{i}}@example.com,Person{{i}}\\n" for i in range({messages}))
        )
        (folder / "tip.md").write_text("---\\ntitle: Make the Long Wait Feel Shorter\\n---\\n" + {TIP!r} + "\\n")
        with db.transaction(db.session_factory(engine)) as session:
            imports.import_file(session, SuppressionList.from_settings(settings), folder / "list.csv")
            tips.add_tips(session, [folder / "tip.md"])
        """
    )
    subprocess.run([sys.executable, "-c", setup], check=True, env=env, cwd=folder)
    return measured([sys.executable, "-c", MEASURED, "send"], env, folder)


def sample_message(folder: Path) -> tuple[str, str, str]:
    """Subject, text and HTML of one recipient's copy of our edition (the peer sends the same)."""
    code = textwrap.dedent(
        f"""
        import datetime, json
        from newsletter.config import settings_from_mapping
        from newsletter.messages import MessageFactory
        from newsletter.names import PersonName
        from newsletter.render import render_edition
        from newsletter.tokens import Tokens
        settings = settings_from_mapping(
            {{"newsletter": {{"postal_address": "100 Main Street, Springfield, IL 62701, USA",
                              "base_url": "https://tips.example.com"}}}}, {{}})
        class Tip:
            title, slug, body_md, takeaway = "Make the Long Wait Feel Shorter", "m", {TIP!r}, ""
        rendered = render_edition(settings, Tip(), send_date=datetime.date.today())
        m = MessageFactory(settings, "2026-W48", 1, rendered, Tokens([{SECRET!r}])).build(
            1, 1, "p1@example.com", PersonName("Person1"))
        print(json.dumps([m.subject, m.text, m.html]))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=folder
    ).stdout
    subject, text, html = json.loads(out)
    return subject, text, html


# ---- django-post-office ---------------------------------------------------------------------


def peer_run(folder: Path, messages: int, port: int, python: Path) -> dict[str, float]:
    subject, text, html = sample_message(folder)
    (folder / "bench_settings.py").write_text(
        DJANGO_SETTINGS.format(db=folder / "peer.db", port=port)
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"} | {
        "DJANGO_SETTINGS_MODULE": "bench_settings",
        "PYTHONPATH": str(folder),
    }
    queue = textwrap.dedent(
        f"""
        import django
        django.setup()
        from django.core.management import call_command
        call_command("migrate", verbosity=0)
        from post_office.models import Email, STATUS
        Email.objects.bulk_create(
            [Email(from_email="Customer Service Solutions <tips@example.com>",
                   to=[f"p{{i}}@example.com"], subject={subject!r}, message={text!r},
                   html_message={html!r}, status=STATUS.queued)
             for i in range({messages})], batch_size=2000)
        """
    )
    subprocess.run([str(python), "-c", queue], check=True, env=env, cwd=folder)
    send = REPORT + textwrap.dedent(
        """
        import django, sys
        django.setup()
        from django.core.management import call_command
        call_command("send_queued_mail", processes=1, verbosity=0)
        """
    )
    return measured([str(python), "-c", send], env, folder)


# ---- the runs --------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--peers", type=Path, default=HERE / ".venv-peers")
    args = parser.parse_args()
    python = peers_python(args.peers)
    ours, theirs = [], []
    for _ in range(args.runs):
        for name, results in (("newsletter", ours), ("post_office", theirs)):
            port = free_port()
            sink = Sink(port)
            try:
                with tempfile.TemporaryDirectory() as tmp:
                    folder = Path(tmp)
                    if name == "newsletter":
                        run = newsletter_run(folder, args.messages, port)
                    else:
                        run = peer_run(folder, args.messages, port, python)
                got = sink.count()
            finally:
                sink.stop()
            if got != args.messages:
                raise SystemExit(f"{name}: the sink got {got} of {args.messages} messages")
            results.append({**run, "rate": args.messages / run["seconds"]})

    def med(rows: list[dict[str, float]], key: str) -> float:
        return statistics.median(r[key] for r in rows)

    print(f"SMTP to a local aiosmtpd sink; {args.messages:,} messages; medians of {args.runs}")
    for label, rows in (("newsletter send", ours), ("django-post-office", theirs)):
        each = ", ".join(f"{r['rate']:,.0f}" for r in rows)
        print(
            f"{label:19s} {med(rows, 'rate'):7,.0f} msg/s ({each}); "
            f"CPU {med(rows, 'cpu') / args.messages * 1e6:,.0f} µs/msg; "
            f"peak RSS {med(rows, 'peak_mb'):.0f} MB"
        )
    print(f"ratio: {med(ours, 'rate') / med(theirs, 'rate'):.2f}   (goal >= 2)")


if __name__ == "__main__":
    main()
