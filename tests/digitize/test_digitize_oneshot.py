"""The `motcua digitize` one-shot command: arguments, summary, exit codes, error line."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pytest
from pypdf import PdfReader

from digitize.oneshot import add_arguments, run
from tests.support.scans import write_scan


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="motcua digitize")
    add_arguments(parser)
    return parser.parse_args(argv)


def test_defaults_are_vietnamese_and_all_cores(tmp_path: Path) -> None:
    """Without options the language is vie and the jobs count is the number of CPUs."""
    args = _parse([str(tmp_path / "a.png"), "-o", str(tmp_path / "out.pdf")])
    assert args.lang == "vie"
    assert args.jobs == (os.cpu_count() or 1)
    assert args.inputs == [tmp_path / "a.png"]
    assert args.output == tmp_path / "out.pdf"


def test_jobs_must_be_positive(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A jobs count below one is a usage error (argparse exit 2)."""
    with pytest.raises(SystemExit) as caught:
        _parse([str(tmp_path / "a.png"), "-o", "x.pdf", "--jobs", "0"])
    assert caught.value.code == 2
    assert "--jobs" in capsys.readouterr().err


def test_success_prints_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A good scan gives exit 0, a PDF, and one summary line with pages, seconds, confidence."""
    write_scan(tmp_path / "a.png", "Phiếu tiếp nhận hồ sơ và hẹn trả kết quả.", dpi=200)
    code = run(_parse([str(tmp_path / "a.png"), "-o", str(tmp_path / "out.pdf"), "--jobs", "1"]))
    captured = capsys.readouterr()
    assert code == 0
    assert captured.err == ""
    assert len(PdfReader(tmp_path / "out.pdf").pages) == 1
    [line] = captured.out.splitlines()
    assert "1 trang" in line
    assert "giây" in line
    assert "độ tin cậy trung bình" in line


def test_bad_input_exits_2_with_one_vietnamese_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An unsupported file gives exit 2 and a single 'lỗi:' line naming it, and no PDF."""
    (tmp_path / "don.doc").write_bytes(b"\xd0\xcf\x11\xe0 word document")
    code = run(_parse([str(tmp_path / "don.doc"), "-o", str(tmp_path / "out.pdf")]))
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    [line] = captured.err.splitlines()
    assert line.startswith("lỗi: Tệp 'don.doc' không phải ảnh quét")
    assert not (tmp_path / "out.pdf").exists()


def test_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A path that does not exist gives exit 2 and one line saying the file was not found."""
    code = run(_parse([str(tmp_path / "khong-co.png"), "-o", str(tmp_path / "out.pdf")]))
    [line] = capsys.readouterr().err.splitlines()
    assert code == 2
    assert line.startswith("lỗi: không tìm thấy tệp")
    assert "khong-co.png" in line
