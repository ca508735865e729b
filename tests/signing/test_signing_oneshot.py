"""Tests of the `motcua sign` and `motcua verify` one-shot commands."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from signing import oneshot
from signing.arguments import add_verify_arguments, sign_parser
from signing.devpki import IssuedKey
from signing.verify.check import verify_pdf
from tests.support.pki import (
    TEST_OFFICE,
    TEST_PASSPHRASE,
    TEST_SIGNER,
    append_text_update,
    read_stamps,
)


def _sign(argv: list[str]) -> int:
    return oneshot.run_sign(sign_parser().parse_args(argv))


def _verify(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="motcua verify")
    add_verify_arguments(parser)
    return oneshot.run_verify(parser.parse_args(argv))


@pytest.fixture()
def files(tmp_path: Path, unsigned_pdf: bytes, pki: IssuedKey) -> dict[str, Path]:
    src = tmp_path / "ket-qua.pdf"
    src.write_bytes(unsigned_pdf)
    passphrase = tmp_path / "mat-khau.txt"
    passphrase.write_bytes(TEST_PASSPHRASE + b"\n")
    return {"src": src, "out": tmp_path / "da-ky.pdf", "pass": passphrase, "p12": pki.pkcs12}


def test_sign_with_passphrase_file(
    files: dict[str, Path], trust: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """motcua sign writes a trusted signed PDF whose stamp names the certificate holder."""
    code = _sign(
        [str(files["src"]), "-o", str(files["out"]), "--pkcs12", str(files["p12"]),
         "--passphrase-file", str(files["pass"])]
    )  # fmt: skip
    assert code == 0
    assert "Đã ký" in capsys.readouterr().out
    signed = files["out"].read_bytes()
    assert verify_pdf(signed, trust).ok
    (stamp,) = read_stamps(signed)
    assert stamp.text.startswith(f"Ký bởi: {TEST_SIGNER}\nCơ quan: {TEST_OFFICE}\n")


def test_sign_prompts_for_the_passphrase(
    files: dict[str, Path], monkeypatch: pytest.MonkeyPatch, trust: list[Path]
) -> None:
    """Without a passphrase file the passphrase is asked with getpass (no echo)."""
    prompts: list[str] = []

    def fake_getpass(prompt: str = "") -> str:
        prompts.append(prompt)
        return TEST_PASSPHRASE.decode()

    monkeypatch.setattr("getpass.getpass", fake_getpass)
    code = _sign(
        [str(files["src"]), "-o", str(files["out"]), "--pkcs12", str(files["p12"]),
         "--name", "Trần Thị Bình", "--office", "Sở Tư pháp", "--invisible"]
    )  # fmt: skip
    assert code == 0
    assert prompts == ["Mật khẩu khóa ký: "]
    signed = files["out"].read_bytes()
    assert read_stamps(signed) == []
    assert verify_pdf(signed, trust).ok


def test_sign_one_pdf_into_a_missing_folder_creates_it(
    files: dict[str, Path], trust: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """-o naming a .pdf in folders not yet made creates them, as for many documents."""
    out = files["out"].parent / "moi" / "thang-5" / "da-ky.pdf"
    code = _sign(
        [str(files["src"]), "-o", str(out), "--pkcs12", str(files["p12"]),
         "--passphrase-file", str(files["pass"])]
    )  # fmt: skip
    assert code == 0
    assert "Đã ký" in capsys.readouterr().out
    assert verify_pdf(out.read_bytes(), trust).ok


def test_sign_one_pdf_where_no_folder_can_be_made_exits_with_one_line(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """A signed file's folder that cannot be made (a file is in its way) is one error line."""
    blocker = files["out"].parent / "la-tep"
    blocker.write_bytes(b"")
    out = blocker / "da-ky.pdf"
    code = _sign(
        [str(files["src"]), "-o", str(out), "--pkcs12", str(files["p12"]),
         "--passphrase-file", str(files["pass"])]
    )  # fmt: skip
    captured = capsys.readouterr()
    assert code == 3  # a person must fix it: the folder
    assert captured.err == f"Lỗi: Không tạo được thư mục ghi tệp đã ký: {blocker}\n"
    assert not out.exists()


def test_sign_with_wrong_passphrase_exits_3_with_one_line(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """A wrong passphrase prints one Vietnamese line on stderr, exits 3 and writes nothing."""
    files["pass"].write_bytes(b"sai-mat-khau-77\n")
    code = _sign(
        [str(files["src"]), "-o", str(files["out"]), "--pkcs12", str(files["p12"]),
         "--passphrase-file", str(files["pass"])]
    )  # fmt: skip
    captured = capsys.readouterr()
    assert code == 3  # a person must fix it: the key's passphrase
    assert captured.err == "Lỗi: Mật khẩu khóa ký không đúng\n"
    assert "sai-mat-khau-77" not in captured.out + captured.err
    assert not files["out"].exists()


def test_sign_non_pdf_exits_2(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    """Signing something that is not a PDF exits 2 with one line on stderr."""
    files["src"].write_bytes(b"khong phai PDF")
    code = _sign(
        [str(files["src"]), "-o", str(files["out"]), "--pkcs12", str(files["p12"]),
         "--passphrase-file", str(files["pass"])]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("Lỗi: ") and err.count("\n") == 1


def test_verify_exit_codes(
    tmp_path: Path, signed_pdf: bytes, pki: IssuedKey, capsys: pytest.CaptureFixture[str]
) -> None:
    """verify exits 0 when trusted, 1 when untrusted or tampered, 2 for a missing file."""
    good = tmp_path / "good.pdf"
    good.write_bytes(signed_pdf)
    tampered = tmp_path / "tampered.pdf"
    tampered.write_bytes(append_text_update(signed_pdf))

    assert _verify([str(good), "--trust", str(pki.ca_cert)]) == 0
    out = capsys.readouterr().out
    assert f"Người ký: {TEST_SIGNER}" in out
    assert "22/11/2026 14:05:03 (giờ Việt Nam)" in out
    assert "Toàn vẹn: có" in out and "Tin cậy: có" in out
    assert out.rstrip().endswith("Kết quả: HỢP LỆ")

    assert _verify([str(good)]) == 1
    assert "Tin cậy: không" in capsys.readouterr().out

    assert _verify([str(tampered), "--trust", str(pki.ca_cert)]) == 1
    out = capsys.readouterr().out
    assert "Bị sửa sau khi ký: có" in out
    assert out.rstrip().endswith("Kết quả: KHÔNG HỢP LỆ")

    assert _verify([str(tmp_path / "khong-co.pdf")]) == 2
    assert capsys.readouterr().err.startswith("Lỗi: ")


def test_verify_json(
    tmp_path: Path, signed_pdf: bytes, pki: IssuedKey, capsys: pytest.CaptureFixture[str]
) -> None:
    """--json prints the report as JSON with Vietnamese text unescaped."""
    good = tmp_path / "good.pdf"
    good.write_bytes(signed_pdf)
    assert _verify([str(good), "--trust", str(pki.ca_cert), "--json"]) == 0
    out = capsys.readouterr().out
    data = json.loads(out)
    assert data["ok"] is True
    assert data["signatures"][0]["signer"] == TEST_SIGNER
    assert TEST_SIGNER in out  # not \u-escaped

    unsigned = tmp_path / "unsigned.pdf"
    unsigned.write_bytes(b"%PDF-1.4 hong")
    assert _verify([str(unsigned), "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["signatures"] == []


def test_verify_bad_trust_root_exits_3(
    tmp_path: Path, signed_pdf: bytes, capsys: pytest.CaptureFixture[str]
) -> None:
    """An unreadable --trust file is an error (exit 2), not a verification result."""
    good = tmp_path / "good.pdf"
    good.write_bytes(signed_pdf)
    assert _verify([str(good), "--trust", str(tmp_path / "khong-co.pem")]) == 3
    assert "chứng thư gốc" in capsys.readouterr().err


def test_sign_starts_without_django_or_what_it_does_not_use(files: dict[str, Path]) -> None:
    """`motcua sign` at B-B sets up no Django and imports neither the verifier, nor an array
    library, nor fontTools' subsetter, HarfBuzz or lxml: its start-up is pyHanko's own. It
    prints no library's warning either (pyHanko's import of cryptography's deprecated DSA)."""
    argv = [
        "sign", str(files["src"]), "-o", str(files["out"]),
        "--pkcs12", str(files["p12"]), "--passphrase-file", str(files["pass"]),
    ]  # fmt: skip
    unwanted = (
        "django", "signing.verify", "numpy", "fontTools.subset", "uharfbuzz", "lxml", "segno",
    )  # fmt: skip
    script = (
        "import sys\n"
        "from motcua.cli import main\n"
        f"code = main({argv!r})\n"
        f"print(code, sorted(m for m in {unwanted!r} if m in sys.modules))\n"
    )
    no_agent = {**os.environ, "MOTCUA_DATA_DIR": str(files["src"].parent / "data")}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=no_agent
    )
    assert done.stdout.splitlines()[-1] == "0 []", done.stderr
    assert done.stderr == ""
    assert files["out"].is_file()
