"""``newsletter serve --workers N``: N uvicorn worker processes on one listening socket.

Each worker imports ``app_from_environment`` (uvicorn cannot hand N processes one app object),
which reads the configuration the way every command does (``NEWSLETTER_CONFIG``, which the CLI
set to the file it loaded, then the environment), opens its own engine, and gets its own
background mail sender from the app's lifespan. The outgoing-mail queue is shared through the
database, so several senders never send one email twice.
"""

from __future__ import annotations

import socket

import uvicorn
from starlette.applications import Starlette
from uvicorn.supervisors import Multiprocess

from newsletter import db, logs
from newsletter.config import load_settings
from newsletter.errors import ConfigError
from newsletter.web import create_app

FACTORY = "newsletter.web.workers:app_from_environment"


def app_from_environment() -> Starlette:
    """A complete app for one worker process, from the configuration in the environment."""
    logs.configure()  # a spawned process: the CLI's logging set-up did not come with it
    settings = load_settings()
    engine = db.make_engine(db.resolve_url(settings.database.url, settings.base_dir))
    return create_app(settings, engine)


def serve_workers(host: str, port: int, workers: int) -> None:
    """Run ``workers`` processes until SIGINT or SIGTERM (uvicorn's supervisor restarts any
    that dies)."""
    config = uvicorn.Config(
        FACTORY,
        factory=True,
        workers=workers,
        host=host,
        port=port,
        proxy_headers=True,
        server_header=False,
        # uvicorn pings each worker and replaces one that does not answer in time; a worker
        # still starting on a busy machine is not hung (the default 5 s killed some here).
        timeout_worker_healthcheck=30,
    )
    try:
        sock = listening_socket(host, port)
    except OSError as exc:
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    Multiprocess(config, sockets=[sock]).run()


def listening_socket(host: str, port: int) -> socket.socket:
    """The socket the workers share, made as TCP explicitly.

    uvicorn's own (``Config.bind_socket``) leaves the protocol number 0, so asyncio never sets
    TCP_NODELAY on the connections it accepts, and every keep-alive answer whose headers and
    body go out in two writes waits ~40 ms for the client's delayed ACK (uvicorn issue 3149:
    360 requests/s instead of 5,000 for a bare app on two workers here)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock
