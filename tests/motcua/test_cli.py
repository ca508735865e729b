"""Tests of the ``motcua`` command line: back-office commands and one-shot usage errors."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import pytest

from dossiers.models import Dossier
from motcua.cli import QUEUES, _log_level, _split_global, main
from tests.conftest import DataDirs, MakeAwaiting, MakeDossier

HEADER = "code,office,procedure,applicant_name,email,phone,received_at\n"


@pytest.fixture(autouse=True)
def keep_logging_config() -> Iterator[None]:
    """Stop main()'s django.setup() from rebinding log handlers to this test's captured stderr.

    Django is already set up by pytest-django; a handler left pointing at a closed
    capture stream would garble every later test's stderr.
    """
    with mock.patch("django.utils.log.configure_logging"):
        yield


def test_status_json_reports_the_dossier_and_its_documents(
    make_dossier: MakeDossier, make_awaiting: MakeAwaiting, capsys: pytest.CaptureFixture[str]
) -> None:
    """``status CODE --json`` prints the dossier, its due date and each document's state."""
    dossier = make_dossier().dossier
    document = make_awaiting(dossier)
    assert main(["status", dossier.code, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["code"] == dossier.code
    assert report["office"] == "xa-thu" and report["procedure"] == "HT-KHAISINH"
    assert report["status"] == "received"
    assert report["due_at"] == dossier.due_at.isoformat()
    assert report["resolved_at"] is None and report["timeliness"] is None
    assert report["documents"] == [
        {
            "id": document.pk,
            "state": "AWAITING_APPROVAL",
            "pages": 1,
            "confidence": None,
            "pdf": document.pdf_path,
            "signed": "",
            "reason": "",
        }
    ]
    assert "secret" not in json.dumps(report).lower()


def test_status_in_words(dossier: Dossier, capsys: pytest.CaptureFixture[str]) -> None:
    """Without --json the status is told in Vietnamese."""
    assert main(["status", dossier.code]) == 0
    out = capsys.readouterr().out
    assert f"Hồ sơ {dossier.code} — Đăng ký khai sinh" in out
    assert "Trạng thái: Đã tiếp nhận" in out


def test_status_of_an_unknown_dossier_exits_2(db: None, capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown code is bad input: exit 2 and a Vietnamese message."""
    with pytest.raises(SystemExit) as info:
        main(["status", "HS-KHONG-CO"])
    assert info.value.code == 2
    assert "Không có hồ sơ mã HS-KHONG-CO" in capsys.readouterr().err


def test_batches_json_lists_open_batches(
    official: object,
    make_dossier: MakeDossier,
    make_awaiting: MakeAwaiting,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``batches --json`` lists each open batch with its documents and counts."""
    docs = [make_awaiting(make_dossier().dossier) for _ in range(2)]
    assert main(["batches", "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["office"] == "xa-thu"
    assert row["signer"] == "Nguyễn Văn An"
    assert row["state"] == "open"
    assert (row["items"], row["awaiting_approval"], row["signed"]) == (2, 2, 0)
    assert sorted(row["documents"]) == sorted(d.pk for d in docs)


def test_batches_when_there_are_none(db: None, capsys: pytest.CaptureFixture[str]) -> None:
    """With no batch waiting, ``batches`` says so (and --json gives an empty list)."""
    assert main(["batches"]) == 0
    assert "Không có lô ký nào đang chờ." in capsys.readouterr().out
    assert main(["batches", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_import_dossiers_registers_good_rows_and_exits_2_on_a_bad_one(
    tmp_path: Path,
    data_dirs: DataDirs,
    make_dossier: MakeDossier,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Good rows get a private receipt with their secret; a bad row is reported and exit is 1."""
    csv = tmp_path / "ho-so.csv"
    csv.write_text(
        HEADER
        + "HS-TOT,xa-thu,HT-KHAISINH,Vũ Thị Giang,giang@example.vn,,2026-03-09 09:00\n"
        + "HS-XAU,xa-thu,KHONG-CO,Lý Văn Hải,,,2026-03-09 09:00\n",
        encoding="utf-8",
    )
    receipts = tmp_path / "giay-hen"
    with pytest.raises(SystemExit) as info:
        main(["import-dossiers", str(csv), "--receipts", str(receipts), "--json"])
    assert info.value.code == 2
    captured = capsys.readouterr()
    good, bad = json.loads(captured.out)
    assert good["ok"] and good["code"] == "HS-TOT"
    assert bad == {
        "line": 3,
        "code": "HS-XAU",
        "ok": False,
        "error": "Cơ quan xa-thu không có thủ tục mã 'KHONG-CO'.",
    }
    assert "1 dòng không tiếp nhận được" in captured.err
    dossier = Dossier.objects.get(code="HS-TOT")
    assert dossier.check_secret(good["secret"])
    receipt = Path(good["receipt"])
    assert receipt == receipts / "giay-hen-HS-TOT.pdf"
    assert receipt.read_bytes().startswith(b"%PDF")
    assert stat.S_IMODE(receipt.stat().st_mode) == 0o600
    assert not Dossier.objects.filter(code="HS-XAU").exists()


def test_import_dossiers_carries_on_past_a_code_with_a_slash(
    tmp_path: Path, data_dirs: DataDirs, procedure: object, capsys: pytest.CaptureFixture[str]
) -> None:
    """A code unusable as a file name is a reported bad row, not a crash that loses its secret."""
    csv = tmp_path / "ho-so.csv"
    csv.write_text(
        HEADER
        + "12/HS-UBND,xa-thu,HT-KHAISINH,Vũ Thị Giang,,,\n"
        + "HS-SAU,xa-thu,HT-KHAISINH,Lý Văn Hải,,,\n",
        encoding="utf-8",
    )
    receipts = tmp_path / "giay-hen"
    with pytest.raises(SystemExit) as info:
        main(["import-dossiers", str(csv), "--receipts", str(receipts)])
    assert info.value.code == 2
    assert "✗ dòng 2 (12/HS-UBND)" in capsys.readouterr().err
    assert not Dossier.objects.filter(code="12/HS-UBND").exists()
    assert (receipts / "giay-hen-HS-SAU.pdf").is_file()


def test_import_dossiers_with_a_missing_column_exits_2(
    tmp_path: Path, db: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """A CSV without the required columns is refused as a whole."""
    csv = tmp_path / "thieu.csv"
    csv.write_text("code,office\nHS-1,xa-thu\n", encoding="utf-8")
    with pytest.raises(SystemExit) as info:
        main(["import-dossiers", str(csv), "--receipts", str(tmp_path / "r")])
    assert info.value.code == 2
    assert "Tệp CSV thiếu cột" in capsys.readouterr().err
    assert not Dossier.objects.exists()


def test_import_dossiers_of_a_missing_file_exits_2(
    tmp_path: Path, db: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """A CSV path that does not exist is named in the error."""
    with pytest.raises(SystemExit) as info:
        main(["import-dossiers", str(tmp_path / "khong-co.csv")])
    assert info.value.code == 2
    assert "Không thấy tệp" in capsys.readouterr().err


def test_digitize_of_a_missing_file_returns_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``digitize`` with an input that does not exist returns 2 and names it."""
    code = main(["digitize", str(tmp_path / "khong-co.png"), "-o", str(tmp_path / "out.pdf")])
    assert code == 2
    assert "khong-co.png" in capsys.readouterr().err
    assert not (tmp_path / "out.pdf").exists()


def test_digitize_without_arguments_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """``digitize`` without inputs or output exits 2 with argparse's usage message."""
    with pytest.raises(SystemExit) as info:
        main(["digitize"])
    assert info.value.code == 2
    assert "usage" in capsys.readouterr().err.lower()


def test_verify_of_an_unreadable_file_returns_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``verify`` of a missing file returns 2 with a Vietnamese message."""
    assert main(["verify", str(tmp_path / "khong-co.pdf")]) == 2
    assert "không đọc được tệp" in capsys.readouterr().err


def test_verify_of_a_non_pdf_is_not_ok(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``verify`` of bytes that are no PDF exits 1 and says the file is not a readable PDF."""
    junk = tmp_path / "junk.pdf"
    junk.write_bytes(b"this is not a pdf at all")
    assert main(["verify", str(junk)]) == 1
    out = capsys.readouterr().out
    assert "không phải là tài liệu PDF" in out and "KHÔNG HỢP LỆ" in out


def test_verify_without_a_file_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """``verify`` without a file exits 2."""
    with pytest.raises(SystemExit) as info:
        main(["verify"])
    assert info.value.code == 2


def test_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown command exits 2."""
    with pytest.raises(SystemExit) as info:
        main(["bay-len"])
    assert info.value.code == 2


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--data-dir", "/srv/motcua", "status", "X"], (Path("/srv/motcua"), 0, ["status", "X"])),
        (["--data-dir=/srv/m", "batches"], (Path("/srv/m"), 0, ["batches"])),
        (["status", "--data-dir", "X"], (None, 0, ["status", "--data-dir", "X"])),
        (["-v", "--data-dir", "/d", "-vv", "approve"], (Path("/d"), 3, ["approve"])),
        (["sign", "-v"], (None, 0, ["sign", "-v"])),
        ([], (None, 0, [])),
    ],
)
def test_split_global_takes_only_leading_data_dir_and_verbosity(
    argv: list[str], expected: tuple[Path | None, int, list[str]]
) -> None:
    """Only a leading --data-dir and -v are global options; later ones belong to the command."""
    assert _split_global(argv) == expected


@pytest.mark.parametrize(
    ("command", "verbose", "level"),
    [
        ("approve", 0, "WARNING"),
        ("sign", 0, "WARNING"),
        ("status", 1, "INFO"),
        ("digitize", 2, "DEBUG"),
        ("run", 0, "INFO"),
        ("worker", 0, "INFO"),
    ],
)
def test_a_persons_command_is_quiet_unless_asked(command: str, verbose: int, level: str) -> None:
    """Commands a person runs log warnings only; -v adds INFO, -vv DEBUG; the roles log INFO."""
    assert _log_level(command, verbose) == level


def test_the_default_worker_queues_are_the_settings_queues() -> None:
    """``motcua worker`` with no -Q consumes every queue tasks are routed to."""
    from django.conf import settings

    assert QUEUES.split(",") == list(settings.TASK_QUEUES)
