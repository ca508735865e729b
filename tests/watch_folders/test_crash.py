"""The watcher killed with SIGKILL in the middle of a claim, then started again."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from tests.support.service import poll, service_env
from tests.watch_folders.stacks import (
    content_page,
    folder_marks,
    jpeg,
    pdf_marks,
    receipt_page,
    write_stack_pdf,
)

ROOT = Path(__file__).resolve().parents[2]
PROCESS = [sys.executable, "-m", "tests.watch_folders.watcher_process"]
CODES = [f"HS-{n:02d}" for n in range(1, 11)]


def helper(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(
        [*PROCESS, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def start_watcher(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen([*PROCESS, "watch"], cwd=ROOT, env=env, stdout=out, stderr=out)


def open_claims(data: Path) -> list[dict[str, Any]]:
    folder = data / "intake" / ".claims"
    claims = []
    for path in folder.glob("*.json") if folder.is_dir() else []:
        try:
            claims.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue  # being written or removed right now
    return claims


def test_a_claim_killed_midway_is_finished_at_the_next_start(tmp_path: Path) -> None:
    """SIGKILL while a 30-page batch is being split (its journal open): at the next start
    the claim is finished, not sent to failed/; every page ends in exactly one document
    and every dossier folder dropped beside it in one."""
    data, scanner = tmp_path / "data", tmp_path / "may-quet"
    scanner.mkdir()
    env = service_env(data, MOTCUA_SETTLE_SECONDS="0.3", MOTCUA_WATCH_RESCAN_S="0.2")
    helper(["setup", str(scanner), *CODES], env)

    stack = tmp_path / "lo.pdf"
    pages = []
    for code in CODES[:5]:
        pages += [receipt_page(code), *(content_page(f"{code} {n}") for n in range(5))]
    write_stack_pdf(stack, pages)
    owners = {
        m: CODES[i // 6] for i, m in enumerate(pdf_marks(stack)) if i % 6 != 0
    }  # page marks of the content pages
    inbox = data / "inbox" / "xa-thu"
    for code in CODES[5:]:
        folder = tmp_path / code
        folder.mkdir()
        (folder / "trang-1.jpg").write_bytes(jpeg(content_page(code)))

    log = tmp_path / "watcher.log"
    watcher = start_watcher(env, log)
    try:
        poll(
            lambda: "configured folders" in log.read_text(encoding="utf-8"),
            timeout=30,
            every=0.05,
            what="the watcher to start",
        )
        inbox.mkdir(parents=True, exist_ok=True)
        for code in CODES[5:]:
            (tmp_path / code).rename(inbox / code)
        stack.rename(scanner / stack.name)
        batch = poll(
            lambda: [c for c in open_claims(data) if c["action"] == "batch"],
            timeout=30,
            every=0.005,
            what="the batch's claim to open",
        )
        watcher.send_signal(signal.SIGKILL)
        watcher.wait(timeout=10)
    finally:
        if watcher.poll() is None:
            watcher.kill()
            watcher.wait(timeout=10)
    claim_id = batch[0]["claim_id"]
    assert any(c["claim_id"] == claim_id for c in open_claims(data)), "killed after the claim"
    killed = json.loads(helper(["report"], env))
    target = Path(batch[0]["target"])
    written = [d for d in killed["documents"] if Path(d["source_dir"]).is_relative_to(target)]
    assert written == [], "the batch's rows were written before the kill"

    watcher = start_watcher(env, log)
    try:

        def settled() -> dict[str, Any] | None:
            if open_claims(data) or any(scanner.iterdir()) or any(inbox.iterdir()):
                return None
            report: dict[str, Any] = json.loads(helper(["report"], env))
            return report if len(report["documents"]) == len(CODES) else None

        report = poll(settled, timeout=60, every=0.3, what="the claims to finish")
    finally:
        watcher.send_signal(signal.SIGTERM)
        try:
            watcher.wait(timeout=20)
        except subprocess.TimeoutExpired:
            watcher.kill()
            watcher.wait(timeout=10)
    assert watcher.returncode == 0, log.read_text(encoding="utf-8")[-3000:]

    assert sorted(d["code"] for d in report["documents"]) == CODES
    assert [i for i in report["intakes"] if i["outcome"] != "accepted"] == []
    found: Counter[str] = Counter()
    for document in report["documents"]:
        marks = folder_marks(Path(document["source_dir"]))
        if document["code"] in CODES[:5]:
            assert marks == [m for m, code in owners.items() if code == document["code"]]
            found.update(marks)
        else:
            assert len(marks) == 1
    assert found == Counter(owners.keys())  # each page in exactly one document
    assert not (data / "failed").exists() or not any((data / "failed").iterdir())
    sent = (data / "sent.txt").read_text(encoding="utf-8").split()
    assert sorted(int(x) for x in sent if x.isdigit()) == sorted(
        d["pk"] for d in report["documents"]
    )
    assert "interrupted claim" in log.read_text(encoding="utf-8")
