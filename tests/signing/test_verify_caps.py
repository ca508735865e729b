"""Tests of the caps checked before pyHanko's work, the sandbox and the citizen's verdicts."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from pyhanko.sign.signers import SimpleSigner

from signing.devpki import IssuedKey
from signing.pades.sign import sign_pdf
from signing.verify import sandbox
from signing.verify.caps import VerifyCaps, screen_pdf
from signing.verify.check import verify_pdf
from signing.verify.report import VerifyReport
from signing.verify.sandbox import (
    SandboxLimits,
    VerificationStarved,
    start_spares,
    verify_in_sandbox,
)
from signing.verify.verdict import verdict_of
from tests.support.hostile import (
    decompression_bomb,
    deeply_nested,
    many_fields_one_signature,
    many_signature_fields,
)
from tests.support.pki import append_text_update


def test_one_signature_behind_many_fields_is_refused_at_once(
    signed_pdf: bytes, trust: list[Path]
) -> None:
    """The amplification of the issue (each field makes pyHanko validate the same signature
    again, seconds each) is refused before pyHanko reads the document."""
    hostile = many_fields_one_signature(signed_pdf, 200)
    started = time.process_time()
    report = verify_pdf(hostile, trust)
    assert time.process_time() - started < 1
    assert report.problem == "refused" and not report.signatures
    assert "cùng trỏ tới một chữ ký" in report.problem_vi
    assert verdict_of(report, issued=False) == "refused"


def test_two_fields_sharing_a_signature_are_enough_to_refuse(signed_pdf: bytes) -> None:
    screening = screen_pdf(many_fields_one_signature(signed_pdf, 1))
    assert screening.problem == "refused"


def test_too_many_signatures_are_refused(unsigned_pdf: bytes) -> None:
    """Beyond the cap of signatures, no matter how many fields a form may have."""
    assert screen_pdf(many_signature_fields(unsigned_pdf, 20)).passed
    screening = screen_pdf(many_signature_fields(unsigned_pdf, 21))
    assert screening.problem == "refused" and "hơn 20 chữ ký" in screening.reason_vi


def test_too_many_revisions_and_objects_are_refused(signed_pdf: bytes) -> None:
    """Revisions are counted from ``startxref``, objects from ``/Size`` and object headers."""
    updated = signed_pdf
    for number in range(3):
        updated = append_text_update(updated, f"SỬA {number}")
    assert screen_pdf(updated).passed
    refused = screen_pdf(updated, VerifyCaps(max_revisions=3))
    assert refused.problem == "refused" and "lần cập nhật" in refused.reason_vi
    objects = screen_pdf(signed_pdf, VerifyCaps(max_objects=10))
    assert objects.problem == "refused" and "đối tượng" in objects.reason_vi


def test_bombs_and_deep_nesting_are_refused(signed_pdf: bytes) -> None:
    for hostile in (decompression_bomb(signed_pdf), deeply_nested(signed_pdf)):
        started = time.process_time()
        screening = screen_pdf(hostile)
        assert time.process_time() - started < 2
        assert screening.problem == "refused", screening


def test_long_runs_are_scanned_in_linear_time() -> None:
    """Digits, headers and a trailer far from the end cost little CPU (no backtracking, no
    reader walking back over a long last line)."""
    started = time.process_time()
    headers = b"%PDF-1.7\n" + b"1 0 obj " * 2_500_000 + b"startxref\n0\n%%EOF"
    assert screen_pdf(headers).problem == "refused"
    digits = b"%PDF-1.7\nstartxref\n" + b"1" * 5_000_000 + b"\n%%EOF"
    assert screen_pdf(digits).problem == "not_pdf"
    assert time.process_time() - started < 1


def test_ordinary_documents_pass(signed_pdf: bytes, unsigned_pdf: bytes) -> None:
    assert screen_pdf(signed_pdf).passed and screen_pdf(unsigned_pdf).passed
    assert screen_pdf(b"khong phai PDF").problem == "not_pdf"


def test_report_survives_json(signed_pdf: bytes, trust: list[Path]) -> None:
    """What the sandboxed child prints is read back as the same report."""
    report = verify_pdf(append_text_update(signed_pdf), trust)
    again = VerifyReport.from_dict(json.loads(json.dumps(report.to_dict())))
    assert again == report
    with pytest.raises(ValueError):
        VerifyReport.from_dict({**report.to_dict(), "problem": "khac"})


def test_verdicts(
    signed_pdf: bytes,
    unsigned_pdf: bytes,
    trust: list[Path],
    other_pki: IssuedKey,
    pki: IssuedKey,
) -> None:
    """Each kind of document gets the verdict a citizen should read."""
    from signing.keys.pkcs12 import load_pkcs12_signer
    from tests.support.pki import TEST_PASSPHRASE

    stranger: SimpleSigner = load_pkcs12_signer(other_pki.pkcs12, TEST_PASSPHRASE)
    cases = {
        b"khong phai PDF": ("not_pdf", False),
        unsigned_pdf: ("unsigned", False),
        append_text_update(signed_pdf): ("modified", False),
        sign_pdf(unsigned_pdf, stranger): ("untrusted", False),
        signed_pdf: ("valid", False),
    }
    for data, (expected, issued) in cases.items():
        assert verdict_of(verify_pdf(data, trust), issued=issued) == expected
    assert verdict_of(verify_pdf(signed_pdf, trust), issued=True) == "issued"
    # a changed file is never "issued", even should its hash match
    assert verdict_of(verify_pdf(append_text_update(signed_pdf), trust), issued=True) == "modified"


# --- the sandbox ------------------------------------------------------------------------------


PATIENT = SandboxLimits(timeout_s=30)
"""Limits for tests of what the child answers, not of how fast (the machine may be busy)."""


def test_sandbox_gives_the_same_report(signed_pdf: bytes, trust: list[Path]) -> None:
    assert verify_in_sandbox(signed_pdf, trust, PATIENT) == verify_pdf(signed_pdf, trust)


def test_sandbox_refuses_hostile_files(signed_pdf: bytes, trust: list[Path]) -> None:
    for hostile in (many_fields_one_signature(signed_pdf, 200), deeply_nested(signed_pdf)):
        assert verify_in_sandbox(hostile, trust, PATIENT).problem == "refused"


def test_sandbox_kills_a_child_past_its_time(unsigned_pdf: bytes, trust: list[Path]) -> None:
    """The wall-clock limit ends the child: a report refused as an overrun, or the server
    called busy when the child hardly had the CPU."""
    slow = many_signature_fields(unsigned_pdf, 10_000)  # a quarter second of screening
    start_spares(1, wait_s=60)  # the fork server's imports are not the child's time
    started = time.perf_counter()
    try:
        report = verify_in_sandbox(slow, trust, SandboxLimits(timeout_s=0.05))
    except VerificationStarved:
        pass
    else:
        assert report.problem == "overrun"
    assert time.perf_counter() - started < 2


def test_a_fork_server_that_ended_is_started_again(signed_pdf: bytes, trust: list[Path]) -> None:
    """Spares forked before the server ended still work; once they are used up, a new
    server forks the next children."""
    start_spares(1, wait_s=60)
    server = sandbox._SPARES._server
    assert server is not None
    server.process.kill()
    server.process.wait()
    for _ in range(3):
        assert verify_in_sandbox(signed_pdf, trust, PATIENT) == verify_pdf(signed_pdf, trust)
    assert sandbox._SPARES._server is not server


def test_a_spare_waiting_for_nothing_ends_with_its_socket(trust: list[Path]) -> None:
    """A child whose document never comes (the web process stopped) ends by itself."""
    start_spares(1, wait_s=60)
    child = sandbox._SPARES.take()
    assert child.wait_ready(60)
    pid = child.pid
    child.conn.close()  # not kill(): only the socket goes
    deadline = time.monotonic() + 30
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not Path(f"/proc/{pid}").exists()


def test_sandbox_memory_limit(signed_pdf: bytes, trust: list[Path]) -> None:
    """A child out of memory is refused as too complex, never with a half report."""
    limits = SandboxLimits(timeout_s=30, memory_bytes=16 * 1024 * 1024)
    report = verify_in_sandbox(signed_pdf, trust, limits)
    assert report.problem in ("overrun", "refused") and not report.signatures
