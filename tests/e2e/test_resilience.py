"""A killed worker and a crashed broker delay work but never lose or double it."""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path
from typing import Any

import pytest

from tests.support.scans import corpus_paragraphs, write_scan
from tests.support.service import Service, motcua, motcua_json, poll, processes_with_env

pytestmark = pytest.mark.e2e
CODE = "HS-CHAOS-0001"


def _pids(service: Service, role: str) -> list[int]:
    """The service's processes of one role: the private Redis or the Celery worker."""
    found = []
    for pid in processes_with_env("MOTCUA_DATA_DIR", str(service.data_dir)):
        try:
            words = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        is_redis = words[0].startswith(b"redis-server")
        is_worker = b"celery" in words and b"worker" in words
        if (is_redis and role == "redis") or (is_worker and role == "worker"):
            found.append(pid)
    return found


def _kill(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _document(service: Service) -> dict[str, Any] | None:
    docs: list[dict[str, Any]] = motcua_json(["status", CODE], service.env)["documents"]
    return docs[0] if docs else None


def test_killed_worker_and_broker_crash_lose_nothing(tmp_path: Path) -> None:
    """Work interrupted by SIGKILL of every worker and of Redis still ends exactly once."""
    service = Service(
        tmp_path / "var",
        MOTCUA_RECOVERY_EVERY_S="2",
        MOTCUA_LIMIT_RECEIVED_S="3",
        MOTCUA_LIMIT_DIGITIZING_S="6",
    )
    service.start()
    try:
        csv = tmp_path / "ho-so.csv"
        csv.write_text(
            "code,office,procedure,applicant_name,email,phone,received_at\n"
            f"{CODE},xa-demo,HT-KHAISINH,Lê Văn Cường,,,\n",
            encoding="utf-8",
        )
        motcua(["import-dossiers", str(csv), "--receipts", str(tmp_path / "r")], service.env)
        staging = tmp_path / "scan" / CODE
        staging.mkdir(parents=True)
        for n, text in enumerate(corpus_paragraphs(3, seed=11, min_chars=400), start=1):
            write_scan(staging / f"{n}.png", text)
        staging.rename(service.data_dir / "inbox" / "xa-demo" / CODE)

        def digitizing() -> bool:
            doc = _document(service)
            return bool(doc and doc["state"] == "DIGITIZING")

        poll(digitizing, timeout=120, every=0.2, what="digitizing to start")
        # Kill the broker and every worker process mid-stage; the supervisor restarts
        # them, Redis replays its append-only file, and the digitize stage's recovery re-enqueues.
        broker, workers = _pids(service, "redis"), _pids(service, "worker")
        assert broker and workers
        _kill(broker + workers)

        def awaiting() -> dict[str, Any] | None:
            doc = _document(service)
            return doc if doc and doc["state"] == "AWAITING_APPROVAL" else None

        doc = poll(awaiting, timeout=180, every=1, what="the document to reach approval")
        assert doc["pages"] == 3
        batches = motcua_json(["batches"], service.env)
        assert sum(b["items"] for b in batches) == 1
        assert [b["documents"] for b in batches] == [[doc["id"]]]
        assert len(list((service.data_dir / "store").rglob("*.pdf"))) == 1
    except BaseException:
        print(service.log())
        raise
    finally:
        rc = service.stop()
    assert rc == 0, service.log()
