"""End to end through the real service: scans in, a signed, published and emailed PDF out."""

from __future__ import annotations

import email
import email.policy
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from signing.verify.check import verify_pdf
from tests.support.scans import corpus_paragraphs, write_scan
from tests.support.service import (
    Browser,
    Roles,
    Service,
    motcua,
    motcua_json,
    poll,
    processes_with_env,
)
from tests.support.text import cer

pytestmark = pytest.mark.e2e
CODE = "000.00.21.H26-261122-0001"


def _pdf_text(path: Path) -> str:
    return subprocess.run(
        ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def drive_one_dossier(service: Service, tmp_path: Path) -> None:
    """Register, scan, approve and check everything the citizen and an auditor get."""
    env = service.env
    data = service.data_dir
    csv = tmp_path / "ho-so.csv"
    csv.write_text(
        "code,office,procedure,applicant_name,email,phone,received_at\n"
        f"{CODE},xa-demo,HT-KHAISINH,Trần Thị Bình,binh@example.vn,0912345678,2026-11-20 09:15\n",
        encoding="utf-8",
    )
    imported = motcua_json(
        ["import-dossiers", str(csv), "--receipts", str(tmp_path / "giay-hen")], env
    )
    assert imported[0]["ok"], imported
    secret = imported[0]["secret"]
    assert len(secret) >= 26  # 32 characters of a 32-letter alphabet: 160 bits
    assert Path(imported[0]["receipt"]).read_bytes().startswith(b"%PDF")

    # The clerk scans two pages into a staging folder, then moves it into the inbox.
    staging = tmp_path / "scan" / CODE
    staging.mkdir(parents=True)
    texts = corpus_paragraphs(2, seed=7)
    rendered = [
        write_scan(staging / "trang-1.png", texts[0]),
        write_scan(staging / "trang-2.jpg", texts[1]),
    ]
    inbox = data / "inbox" / "xa-demo"
    staging.rename(inbox / CODE)

    def batch_ready() -> dict[str, Any] | None:
        batches: list[dict[str, Any]] = motcua_json(["batches"], env)
        return next((b for b in batches if b["awaiting_approval"] >= 1), None)

    batch = poll(batch_ready, timeout=600, every=2, what="the document to await approval")
    passphrase = data / "pki" / "dev" / "DEV-ONLY-signer-passphrase.txt"
    approved = motcua(["approve", str(batch["id"]), "--passphrase-file", str(passphrase)], env)
    assert "đã ký 1" in approved.stdout
    # a person's command: warnings at most, no library chatter (font subsetting, glyph lists)
    assert "INFO" not in approved.stderr and "fontTools" not in approved.stderr, approved.stderr

    def delivered() -> dict[str, Any] | None:
        report: dict[str, Any] = motcua_json(["status", CODE], env)
        docs = report["documents"]
        return report if docs and docs[0]["state"] == "DELIVERED" else None

    report = poll(delivered, timeout=180, every=1, what="the result to be delivered")
    assert report["status"] == "resolved"
    assert report["timeliness"] in {"early", "on_time", "late"}
    signed = Path(report["documents"][0]["signed"])
    signed_bytes = signed.read_bytes()

    # The visible stamp reads in Vietnamese with its diacritics; the text layer of
    # the pages reads back as the rendered Vietnamese.
    text = _pdf_text(signed)
    assert "Ký bởi: Nguyễn Văn An" in text
    stamp = ("Ký bởi:", "Cơ quan:", "Thời gian:")
    layer = "\n".join(ln for ln in text.splitlines() if not ln.strip().startswith(stamp))
    error = cer("\n".join(rendered), layer)
    assert error < 0.03, f"CER {error:.2%}"

    # The signature is intact and trusted by the (development) CA.
    verdict = verify_pdf(signed_bytes, [data / "pki" / "trust" / "dev-ca.pem"])
    assert verdict.ok, verdict.to_dict()
    assert verdict.signatures[0].signer.startswith("Nguyễn Văn An")
    cli = motcua(
        ["verify", str(signed), "--trust", str(data / "pki" / "trust" / "dev-ca.pem")], env
    )
    assert cli.returncode == 0

    # The citizen's email carries the signed PDF, byte for byte.
    mails = list((data / "outbox" / "email").glob("*.log"))
    assert len(mails) == 1
    message = email.message_from_bytes(mails[0].read_bytes(), policy=email.policy.default)
    assert message["To"] == "binh@example.vn"
    attachments = [
        p for p in message.iter_attachments() if p.get_content_type() == "application/pdf"
    ]
    assert [a.get_content() for a in attachments] == [signed_bytes]
    assert secret not in mails[0].read_text(errors="replace")
    assert len(list((data / "outbox" / "sms").glob("*.json"))) == 1

    # The public lookup answers with the secret and refuses without it.
    browser = Browser(service.base)
    status, page = browser.post_form("/tra-cuu/", {"code": CODE, "secret": secret})
    assert status == 200
    assert "Đã có kết quả" in page.decode()
    link = page.decode().split('id="download" href="')[1].split('"')[0]
    assert link.startswith("/tra-cuu/tai-ve/")
    status, pdf = browser.get(link)
    assert status == 200
    assert pdf == signed_bytes
    assert browser.get(link)[0] == 410  # the link works once
    status, page = Browser(service.base).post_form(
        "/tra-cuu/", {"code": CODE, "secret": "SAI" * 11}
    )
    assert status == 403
    assert CODE not in page.decode().split("<main>")[1].split("<form")[0]

    # Nothing lingers in the inbox; the originals are archived.
    assert not (inbox / CODE).exists()
    assert any((data / "intake").rglob("trang-1.png"))


def test_scan_to_signed_published_emailed_pdf(tmp_path: Path) -> None:
    """Embedded mode: the whole line runs under ``motcua run`` and stops cleanly on Ctrl-C.

    The signing agent runs beside it, for ``motcua sign`` (tests/signing/test_sign_agent_*.py),
    and leaves no socket behind."""
    service = Service(tmp_path / "var")
    service.start()
    agent = service.data_dir / "run" / "sign-agent.sock"
    try:
        drive_one_dossier(service, tmp_path)
        assert agent.is_socket()
    except BaseException:
        print(service.log())
        raise
    finally:
        rc = service.stop()
    assert rc == 0, service.log()
    assert processes_with_env("MOTCUA_DATA_DIR", str(service.data_dir)) == []
    assert not (service.data_dir / "run" / "redis.sock").exists()
    assert not agent.exists()
    assert (service.data_dir / "run" / "appendonlydir").is_dir()


@pytest.fixture
def postgres_and_redis() -> Iterator[dict[str, str]]:
    """A fresh PostgreSQL database and an emptied Redis database on the machine's servers."""
    import psycopg
    import redis

    name = f"motcua_e2e_{uuid.uuid4().hex[:8]}"
    admin = "postgresql://postgres@127.0.0.1:5432/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    broker = redis.Redis(host="127.0.0.1", port=6379, db=13)
    broker.flushdb()
    try:
        yield {
            "MOTCUA_DATABASE_URL": f"postgresql://postgres@127.0.0.1:5432/{name}",
            "MOTCUA_BROKER_URL": "redis://127.0.0.1:6379/13",
        }
    finally:
        broker.flushdb()
        broker.close()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.distributed
def test_distributed_roles_on_postgresql_and_redis(
    tmp_path: Path, postgres_and_redis: dict[str, str]
) -> None:
    """Distributed mode: web, watch, beat and per-queue workers over PostgreSQL and Redis."""
    service = Roles(tmp_path / "var", **postgres_and_redis)
    service.start()
    try:
        drive_one_dossier(service, tmp_path)
    except BaseException:
        print(service.log())
        raise
    finally:
        rc = service.stop()
    assert rc == 0, service.log()
    assert not (service.data_dir / "run" / "redis.sock").exists()
