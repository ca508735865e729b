"""Tests of the batch signing engine and of ``motcua sign`` with many inputs."""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import pytest
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from pyhanko.sign.signers import SimpleSigner
from pyhanko.sign.validation.dss import DocumentSecurityStore

from signing import oneshot
from signing.arguments import sign_parser
from signing.devpki import IssuedKey
from signing.engine.jobs import JobOutcome, SignJob
from signing.engine.run import sign_batch
from signing.errors import SigningError
from signing.keys.pkcs12 import load_pkcs12_signer
from signing.pades.options import SignOptions
from signing.pades.resume import is_signed_output
from signing.stamp.text import StampText, stamp_lines
from signing.verify.check import verify_pdf
from tests.support.pki import (
    TEST_OFFICE,
    TEST_PASSPHRASE,
    TEST_SIGNED_AT,
    TEST_SIGNER,
    append_text_update,
    make_test_pdf,
    read_stamps,
)

Call = tuple[int, int, Path, JobOutcome]


def _inputs(folder: Path, count: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for number in range(1, count + 1):
        path = folder / f"ket-qua-{number:02d}.pdf"
        path.write_bytes(make_test_pdf(pages=1, title=f"QUYẾT ĐỊNH số {number}/QĐ-UBND"))
        paths.append(path)
    return paths


def _jobs(sources: list[Path], out_dir: Path) -> list[SignJob]:
    out_dir.mkdir(parents=True, exist_ok=True)
    return [SignJob(path, out_dir / path.name) for path in sources]


def _signature_count(data: bytes, trust: list[Path]) -> int:
    return len(verify_pdf(data, trust).signatures)


def test_batch_with_two_processes_signs_every_document(
    tmp_path: Path, signer: SimpleSigner, trust: list[Path]
) -> None:
    """Two worker processes sign every job; each output is trusted and carries the stamp."""
    jobs = _jobs(_inputs(tmp_path / "in", 5), tmp_path / "out")
    stamp = StampText(signer_name=TEST_SIGNER, office_name=TEST_OFFICE, signed_at=TEST_SIGNED_AT)

    result = sign_batch(signer, jobs, SignOptions(stamp=stamp), processes=2)

    assert result.processes == 2
    assert [o.status for o in result.outcomes] == ["signed"] * 5
    assert result.ok and result.count("signed") == 5
    for job, outcome in zip(jobs, result.outcomes, strict=True):
        assert isinstance(job.source, Path)
        signed = job.output.read_bytes()
        assert signed.startswith(job.source.read_bytes())
        report = verify_pdf(signed, trust)
        assert report.ok, report.to_dict()
        assert len(report.signatures) == 1
        (view,) = read_stamps(signed)
        assert view.text == "\n".join(stamp_lines(stamp, TEST_SIGNED_AT))
        assert view.font_embedded
        assert outcome.sha256 and outcome.sha256 != "0" * 64
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [j.output.name for j in jobs]


def test_broken_inputs_fail_alone_with_a_vietnamese_reason(
    tmp_path: Path, signer: SimpleSigner, trust: list[Path]
) -> None:
    """A non-PDF, a truncated PDF and a missing file fail with reasons; the others are signed."""
    sources = _inputs(tmp_path / "in", 4)
    sources[1].write_bytes(b"day khong phai PDF")
    sources[2].write_bytes(sources[2].read_bytes()[:300])
    sources.append(tmp_path / "in" / "khong-co.pdf")
    jobs = _jobs(sources, tmp_path / "out")

    result = sign_batch(signer, jobs, processes=2)

    statuses = [o.status for o in result.outcomes]
    assert statuses == ["signed", "failed", "failed", "signed", "failed"]
    assert not result.ok
    for index in (1, 2):
        outcome = result.outcomes[index]
        assert outcome.disposition == "quarantine"
        assert "PDF" in outcome.message_vi and outcome.sha256 == ""
    assert "khong-co.pdf" in result.outcomes[4].message_vi
    assert "Không đọc được" in result.outcomes[4].message_vi
    for index in (0, 3):
        assert verify_pdf(jobs[index].output.read_bytes(), trust).ok
    left = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert left == [jobs[0].output.name, jobs[3].output.name]  # no temporary files


def test_running_again_skips_signed_outputs_and_never_signs_twice(
    tmp_path: Path, signer: SimpleSigner, trust: list[Path]
) -> None:
    """A second run leaves good outputs untouched and re-signs only bad or foreign ones."""
    jobs = _jobs(_inputs(tmp_path / "in", 4), tmp_path / "out")
    first = sign_batch(signer, jobs, processes=2)
    assert first.count("signed") == 4
    before = {job.output: (job.output.read_bytes(), job.output.stat().st_mtime_ns) for job in jobs}

    second = sign_batch(signer, jobs, processes=2)

    assert [o.status for o in second.outcomes] == ["skipped"] * 4
    assert [o.sha256 for o in second.outcomes] == [o.sha256 for o in first.outcomes]
    for job in jobs:
        assert (job.output.read_bytes(), job.output.stat().st_mtime_ns) == before[job.output]
        assert _signature_count(job.output.read_bytes(), trust) == 1

    # damaged, modified after signing, signed from another input: each is signed again
    jobs[0].output.write_bytes(before[jobs[0].output][0][:-500])
    jobs[1].output.write_bytes(append_text_update(before[jobs[1].output][0]))
    jobs[2].output.write_bytes(before[jobs[3].output][0])
    third = sign_batch(signer, jobs, processes=2)

    assert [o.status for o in third.outcomes] == ["signed", "signed", "signed", "skipped"]
    for job in jobs:
        data = job.output.read_bytes()
        assert isinstance(job.source, Path) and data.startswith(job.source.read_bytes())
        report = verify_pdf(data, trust)
        assert report.ok and len(report.signatures) == 1


def test_validation_data_added_after_the_signature_still_counts_as_signed(
    tmp_path: Path, signer: SimpleSigner, pki: IssuedKey
) -> None:
    """An output whose signature is followed by a DSS update (as at B-LT) is recognised."""
    (job,) = _jobs(_inputs(tmp_path / "in", 1), tmp_path / "out")
    sign_batch(signer, [job], processes=1)
    assert isinstance(job.source, Path)
    source = job.source.read_bytes()
    with job.output.open("r+b") as handle:
        ca = asn1_x509.Certificate.load(
            x509.load_pem_x509_certificate(pki.ca_cert.read_bytes()).public_bytes(Encoding.DER)
        )
        DocumentSecurityStore.add_dss(handle, None, certs=[ca], force_write=True)
    extended = job.output.read_bytes()
    assert extended.count(b"%%EOF") > source.count(b"%%EOF") + 1

    assert is_signed_output(extended, source, signer, "ChuKySo1")
    assert not is_signed_output(append_text_update(extended), source, signer, "ChuKySo1")
    assert sign_batch(signer, [job], processes=1).outcomes[0].status == "skipped"


def test_output_signed_by_another_key_is_not_taken_as_done(
    tmp_path: Path, signer: SimpleSigner, other_pki: IssuedKey
) -> None:
    """An output signed by someone else's key is replaced by one signed with this key."""
    jobs = _jobs(_inputs(tmp_path / "in", 1), tmp_path / "out")
    stranger = load_pkcs12_signer(other_pki.pkcs12, TEST_PASSPHRASE)
    sign_batch(stranger, jobs, processes=1)
    source = jobs[0].source
    assert isinstance(source, Path)
    foreign = jobs[0].output.read_bytes()
    assert not is_signed_output(foreign, source.read_bytes(), signer, "ChuKySo1")
    assert is_signed_output(foreign, source.read_bytes(), stranger, "ChuKySo1")
    assert not is_signed_output(foreign, source.read_bytes(), stranger, "ChuKySo2")

    result = sign_batch(signer, jobs, processes=1)

    assert result.outcomes[0].status == "signed"
    assert is_signed_output(jobs[0].output.read_bytes(), source.read_bytes(), signer, "ChuKySo1")


def test_progress_arrives_in_job_order_with_totals(tmp_path: Path, signer: SimpleSigner) -> None:
    """Progress is reported once per job, in job order, counting up to the total."""
    sources = _inputs(tmp_path / "in", 7)
    sources[3].write_bytes(b"hong")
    jobs = _jobs(sources, tmp_path / "out")
    calls: list[Call] = []

    def progress(done: int, total: int, path: Path, outcome: JobOutcome) -> None:
        calls.append((done, total, path, outcome))

    result = sign_batch(signer, jobs, processes=2, progress=progress)

    assert [c[0] for c in calls] == list(range(1, 8))
    assert {c[1] for c in calls} == {7}
    assert [c[2] for c in calls] == sources
    assert tuple(c[3] for c in calls) == result.outcomes
    assert calls[3][3].status == "failed"


def test_bytes_jobs_and_a_skip_predicate(
    tmp_path: Path, signer: SimpleSigner, trust: list[Path]
) -> None:
    """Jobs may give the PDF as bytes, and a predicate can mark jobs as already done."""
    out = tmp_path / "out"
    out.mkdir()
    jobs = [SignJob(make_test_pdf(pages=1, title=f"Văn bản {n}"), out / f"{n}.pdf") for n in "abc"]

    result = sign_batch(signer, jobs, processes=2, skip_existing=lambda job: job.output.stem == "b")

    assert [o.status for o in result.outcomes] == ["signed", "skipped", "signed"]
    assert not (out / "b.pdf").exists()
    assert verify_pdf((out / "a.pdf").read_bytes(), trust).ok
    assert verify_pdf((out / "c.pdf").read_bytes(), trust).ok


def test_a_worker_that_dies_costs_only_its_document(tmp_path: Path, signer: SimpleSigner) -> None:
    """When a worker process dies, its document fails (retry) and the rest are still signed."""
    jobs = _jobs(_inputs(tmp_path / "in", 6), tmp_path / "out")
    parent = os.getpid()
    doomed = jobs[2].output

    def crash_on_doomed(job: SignJob) -> bool:
        if job.output == doomed and os.getpid() != parent:
            os._exit(3)
        return False

    result = sign_batch(signer, jobs, processes=2, skip_existing=crash_on_doomed)

    statuses = [o.status for o in result.outcomes]
    assert statuses == ["signed", "signed", "failed", "signed", "signed", "signed"]
    assert result.outcomes[2].disposition == "retry"
    assert "dừng bất thường" in result.outcomes[2].message_vi
    assert not doomed.exists()


def test_an_output_is_whole_on_disk_when_its_outcome_arrives(
    tmp_path: Path, signer: SimpleSigner, trust: list[Path]
) -> None:
    """Workers write while signing the next job, yet "signed" arrives only after the file."""
    jobs = _jobs(_inputs(tmp_path / "in", 6), tmp_path / "out")
    seen: list[tuple[str, bool, bool]] = []

    def progress(done: int, _total: int, _path: Path, outcome: JobOutcome) -> None:
        data = jobs[done - 1].output.read_bytes()
        matches = hashlib.sha256(data).hexdigest() == outcome.sha256
        seen.append((outcome.status, matches, verify_pdf(data, trust).ok))

    sign_batch(signer, jobs, processes=2, progress=progress)

    assert seen == [("signed", True, True)] * 6
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [j.output.name for j in jobs]


def test_conflicting_outputs_are_refused_before_signing(
    tmp_path: Path, signer: SimpleSigner
) -> None:
    """Two jobs writing one file, or a job overwriting its input, stop the batch at once."""
    (source,) = _inputs(tmp_path / "in", 1)
    with pytest.raises(SigningError, match="cùng được ghi ra một tệp"):
        sign_batch(signer, [(source, tmp_path / "x.pdf"), (b"%PDF-", tmp_path / "x.pdf")])
    with pytest.raises(SigningError, match="ghi đè lên tệp gốc"):
        sign_batch(signer, [(source, source)])
    assert not (tmp_path / "x.pdf").exists()


# --- the command line ---------------------------------------------------------------


def _sign(argv: list[str]) -> int:
    return oneshot.run_sign(sign_parser().parse_args(argv))


@pytest.fixture()
def key_args(tmp_path: Path, pki: IssuedKey) -> list[str]:
    passphrase = tmp_path / "mat-khau.txt"
    passphrase.write_bytes(TEST_PASSPHRASE + b"\n")
    return ["--pkcs12", str(pki.pkcs12), "--passphrase-file", str(passphrase)]


def test_cli_signs_many_files_into_a_folder(
    tmp_path: Path, key_args: list[str], trust: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """``motcua sign A B C -o OUTDIR --jobs 2`` signs each into OUTDIR under its own name."""
    sources = _inputs(tmp_path / "in", 3)
    out_dir = tmp_path / "da-ky"

    code = _sign([*map(str, sources), "-o", str(out_dir), *key_args, "--jobs", "2"])

    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert captured.err == ""
    assert "Đã ký 3/3 tài liệu" in captured.out
    for source in sources:
        signed = (out_dir / source.name).read_bytes()
        assert verify_pdf(signed, trust).ok
        (view,) = read_stamps(signed)
        assert view.text.startswith(f"Ký bởi: {TEST_SIGNER}\nCơ quan: {TEST_OFFICE}\n")

    assert _sign([*map(str, sources), "-o", str(out_dir), *key_args, "--level", "B-B"]) == 0
    assert "3 tài liệu đã ký từ trước được giữ nguyên" in capsys.readouterr().out


def test_cli_bad_input_exits_2_with_one_line(
    tmp_path: Path,
    key_args: list[str],
    trust: list[Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One bad PDF among good ones: the others are signed, exit 2, one line names it."""
    sources = _inputs(tmp_path / "in", 3)
    sources[1].write_bytes(b"khong phai PDF")
    out_dir = tmp_path / "da-ky"
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)

    code = _sign([*map(str, sources), "-o", str(out_dir), *key_args, "--invisible"])

    err = capsys.readouterr().err
    assert code == 2
    bar, error_line = err.rsplit("\r", 1)[-1].split("\n")[:2]
    assert "Đang ký [" in bar and "3/3" in bar
    assert error_line.startswith(f"Lỗi: {sources[1].name}: ")
    assert err.count("Lỗi: ") == 1 and err.endswith("\n") and err.split("\n")[2:] == [""]
    assert verify_pdf((out_dir / sources[0].name).read_bytes(), trust).ok
    assert verify_pdf((out_dir / sources[2].name).read_bytes(), trust).ok
    assert not (out_dir / sources[1].name).exists()


def test_cli_refuses_unusable_output_and_levels_without_services(
    tmp_path: Path, key_args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """A .pdf output for many inputs, clashing names or B-T without a TSA: one line, exit 2."""
    sources = _inputs(tmp_path / "in", 2)
    twin = _inputs(tmp_path / "khac", 1)[0]
    runs = [
        [*map(str, sources), "-o", str(tmp_path / "gop.pdf")],
        [str(sources[0]), str(twin), "-o", str(tmp_path / "ra")],
        [str(sources[0]), "-o", str(tmp_path / "mot.pdf"), "--level", "B-T"],
    ]
    for argv in runs:
        assert _sign([*argv, *key_args]) == 2
        err = capsys.readouterr().err
        assert err.startswith("Lỗi: ") and err.count("\n") == 1, err
    assert not (tmp_path / "gop.pdf").exists() and not (tmp_path / "mot.pdf").exists()
