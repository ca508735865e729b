"""The service roles, one process each: web, Celery worker or scheduler, watcher, signing agent."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from typing import NoReturn

from django.conf import settings

log = logging.getLogger(__name__)


def serve_web(host: str, port: int, threads: int = 4, processes: int | None = None) -> None:
    """Serve the Django application until terminated: ``processes`` waitress processes
    (``WEB_PROCESSES`` unless given) of ``threads`` threads sharing one socket."""
    from motcua.middleware import largest_body_limit
    from motcua.webserver import serve
    from motcua.wsgi import application
    from publishing.services.verification import start_verifiers

    count = max(1, processes if processes is not None else int(settings.WEB_PROCESSES))
    log.info("web on http://%s:%s/ (%d processes)", host, port, count)
    serve(
        application,
        host=host,
        port=port,
        processes=count,
        threads=threads,
        # each serving process keeps its own spare verification processes, pyHanko imported
        before_serving=start_verifiers,
        ident="motcua",
        # bodies beyond their path's limit are refused unread (motcua.webserver); nothing
        # is ever buffered beyond the largest limit of any path (waitress's default: 1 GiB)
        max_request_body_size=largest_body_limit(),
        # waitress drops X-Forwarded-For by default; with trusted proxies configured it is
        # passed on, and publishing.services.clients decides whose entries to believe
        clear_untrusted_proxy_headers=not settings.TRUSTED_PROXIES,
    )


def exec_celery(args: list[str]) -> NoReturn:
    """Replace this process with a Celery role for the motcua app."""
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "motcua.settings")
    env["OMP_THREAD_LIMIT"] = "1"  # one Tesseract per core, not one with many threads
    extra: list[str] = []
    if args[0] == "worker":
        extra = ["-O", "fair", "--without-gossip", "--without-mingle", "--loglevel", "INFO"]
    elif args[0] == "beat":
        from django.conf import settings as dj

        dj.RUN_DIR.mkdir(parents=True, exist_ok=True)
        extra = ["-s", str(dj.RUN_DIR / "celerybeat-schedule"), "--loglevel", "INFO"]
    argv = [sys.executable, "-m", "celery", "-A", "motcua", *args, *extra]
    os.execve(sys.executable, argv, env)


def watch() -> None:
    """Run the inbox watcher until SIGTERM or SIGINT."""
    from watch_folders.services.watcher import run

    stop = threading.Event()

    def _stop(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    log.info("inbox: %s", settings.INBOX_DIR)
    run(stop)


def sign_agent(log_to: Callable[[str], None]) -> int:
    """Run the signing agent of this data directory until SIGTERM or SIGINT."""
    from signing.agent.client import socket_path
    from signing.agent.server import AlreadyServing, serve

    stop = threading.Event()

    def _stop(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    path = socket_path(settings.DATA_DIR)
    try:
        serve(path, stop.is_set, log_to)
    except AlreadyServing as exc:
        print(f"lỗi: dịch vụ ký đã chạy ở {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # e.g. a socket path longer than Unix allows (107 bytes)
        print(f"lỗi: không mở được {path}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    return 0
