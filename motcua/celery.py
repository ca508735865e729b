"""The Celery application shared by every worker, scheduler and producer."""

import logging
import os
import threading
import time
from typing import Any

from celery import Celery
from celery.signals import task_received, worker_ready, worker_shutting_down

from motcua.watchdog import ConsumerWatch, InPlaceRestart, QuietPings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "motcua.settings")

app = Celery("motcua")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
log = logging.getLogger(__name__)


RECOVERIES = (
    "digitize.tasks.recover_leases",
    "signing.tasks.recover_signing_leases",
    "digitize.tasks.recover_digitizing",
    "signing.tasks.recover_signing",
    "publishing.tasks.recover_publishing",
    "backoffice.tasks.store_statistics",
)
"""What a worker asks for when it starts: the scheduled recoveries at once, and the
statistics' closed months stored (a first start counts every month once)."""


@worker_ready.connect
def look_for_lapsed_leases(**_: Any) -> None:
    """A worker (re)started, perhaps after its predecessor died holding leases: recover now,
    and look again once a lease has had time to lapse (the supervisor of ``motcua run`` and
    the orchestrator of the distributed roles restart a dead worker at once)."""
    from core.lease import LEASE_TERMS

    for name in RECOVERIES:
        app.send_task(name)
    for name in RECOVERIES[:2]:
        app.send_task(name, countdown=LEASE_TERMS.lease_s + 1)


PING = "motcua.ping"
_watch: list[ConsumerWatch] = []
"""This worker process's consumer watch (``motcua.watchdog``), once started."""


def _stop_warmly() -> None:
    """What Celery's own SIGTERM handler does, without the signal: the worker stops taking
    work, finishes what it runs and exits (the watchdog's own stop, told apart from one that
    comes from outside)."""
    from celery.platforms import EX_OK
    from celery.worker import state

    state.should_stop = EX_OK  # type: ignore[assignment]  # declared None: no stop asked


restart = InPlaceRestart(_stop_warmly)
"""This worker process's restart by its watchdog; a stop from outside calls it off."""


@worker_shutting_down.connect
def _call_off_restart(**_: Any) -> None:
    """Celery heard SIGTERM, SIGINT or SIGQUIT: the worker stops for good, even when its
    watchdog was restarting it at that moment."""
    restart.cancel()


for _logger in ("celery.worker.strategy", "celery.app.trace", "celery.worker.request"):
    logging.getLogger(_logger).addFilter(QuietPings(PING))


@app.task(name=PING, ignore_result=True)
def ping() -> None:
    """A worker's ping to its own queue: being taken is all it is for (``motcua.watchdog``)."""


@task_received.connect
def _note_ping(request: Any = None, **_: Any) -> None:
    if _watch and getattr(request, "name", None) == PING:
        _watch[0].received()


@worker_ready.connect
def watch_consumer(sender: Any = None, **_: Any) -> None:
    """Start this worker's consumer watchdog: a worker that stays idle while its own pings go
    unreceived has stopped consuming and is started again in place."""
    from celery.utils.nodenames import worker_direct
    from celery.worker import state
    from django.conf import settings

    from motcua.watchdog import WatchTerms

    if _watch or sender is None or not settings.WORKER_WATCH_S:
        return
    terms = WatchTerms(every_s=settings.WORKER_WATCH_S)
    queue = worker_direct(sender.hostname)

    def send() -> bool:
        try:
            app.send_task(
                PING,
                queue=queue.name,
                exchange=queue.exchange.name,
                routing_key=queue.routing_key,
                expires=terms.every_s * 2,
                retry=False,
            )
        except Exception as exc:  # the broker is away: the consumer reconnects on its own
            log.info("worker ping not sent: %s", exc)
            return False
        return True

    def idle() -> bool:
        return not state.active_requests and not state.reserved_requests

    watch = ConsumerWatch(send, idle, terms)
    _watch.append(watch)

    def loop() -> None:
        while True:
            time.sleep(terms.every_s)
            if watch.look():
                log.error(
                    "worker %s took none of its last %d pings while idle: starting it again",
                    sender.hostname,
                    terms.missed,
                )
                restart.begin(terms.shutdown_grace_s)
                return

    threading.Thread(target=loop, name="consumer-watch", daemon=True).start()
