"""Letter numbers ("Số: 07/XL"): one counter per office, form and year, never shared, even
when heads approve at the same instant (PostgreSQL), and continuing the numbers given before."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from unittest import mock

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from core.vntime import VN_TZ
from dossiers.models import Dossier, Letter, LetterForm, LetterSequence, Office, Procedure
from dossiers.services.letters import approve_letter, draft_letter, edit_letter
from dossiers.services.registry import register_dossier
from tests.conftest import MakeDossier
from tests.dossiers.conftest import run_race


def vn(year: int, month: int, day: int, hour: int = 9) -> datetime:
    return datetime(year, month, day, hour, tzinfo=VN_TZ)


@contextmanager
def at(moment: datetime) -> Iterator[None]:
    with mock.patch("django.utils.timezone.now", return_value=moment):
        yield


def approved(dossier: Dossier, form: str, when: datetime) -> str:
    """Draft and approve ``form`` for ``dossier`` at ``when``; the number it got."""
    with at(when):
        letter = draft_letter(dossier, form, reason="Không thuộc thẩm quyền", extra_days=2)
        approve_letter(letter, signer_title="Chủ tịch", signer_name="Nguyễn Văn An")
    letter.refresh_from_db()
    return letter.number


@pytest.mark.usefixtures("data_dirs")
def test_numbers_count_per_office_form_and_year(
    make_dossier: MakeDossier, other_office: Office
) -> None:
    first, second = make_dossier().dossier, make_dossier().dossier
    assert approved(first, LetterForm.REFUSAL, vn(2026, 3, 2)) == "01/PTC"
    assert approved(second, LetterForm.REFUSAL, vn(2026, 3, 3)) == "02/PTC"
    assert approved(first, LetterForm.STOP, vn(2026, 3, 3)) == "01/TB"
    elsewhere = Procedure.objects.create(
        office=other_office, code="KS", name="Đăng ký kết hôn", limit_working_days=5
    )
    theirs = register_dossier(
        code="HS-XA-KHAC",
        office=other_office,
        procedure=elsewhere,
        applicant_name="Lê Văn Khác",
        received_at=vn(2026, 3, 2),
    ).dossier
    assert approved(theirs, LetterForm.REFUSAL, vn(2026, 3, 4)) == "01/PTC"
    # the year turns at midnight in Vietnam (17:00 UTC on 31 December)
    assert approved(second, LetterForm.REFUSAL, vn(2026, 12, 31, 23)) == "03/PTC"
    assert approved(second, LetterForm.REFUSAL, vn(2027, 1, 1, 0)) == "01/PTC"


@pytest.mark.usefixtures("data_dirs")
def test_a_number_is_kept_and_a_failed_approval_gives_it_back(
    make_dossier: MakeDossier,
) -> None:
    dossier = make_dossier().dossier
    with at(vn(2026, 3, 2)):
        letter = draft_letter(dossier, LetterForm.SUPPLEMENT, reason="Thiếu giấy chứng sinh")
        with (
            mock.patch("dossiers.services.letters.store_bytes", side_effect=OSError("đầy đĩa")),
            pytest.raises(OSError),
        ):
            approve_letter(letter, signer_title="Chủ tịch", signer_name="Nguyễn Văn An")
        letter.refresh_from_db()
        assert letter.number == "" and letter.state == Letter.State.DRAFT
        approve_letter(letter, signer_title="Chủ tịch", signer_name="Nguyễn Văn An")
        letter.refresh_from_db()
        assert letter.number == "01/PYCBS"
        edit_letter(letter, "Nội dung sửa lại.")
        approve_letter(letter, signer_title="Chủ tịch", signer_name="Nguyễn Văn An")
    letter.refresh_from_db()
    assert letter.number == "01/PYCBS"
    assert LetterSequence.objects.get().last == 1


def _before_sequences() -> tuple[str, str]:
    """The migration the counters' migration follows."""
    migration = importlib.import_module("dossiers.migrations.0014_letter_sequence").Migration
    app, name = migration.dependencies[0]
    return str(app), str(name)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("data_dirs")
def test_the_counters_continue_the_numbers_already_given() -> None:
    """Letters numbered before the counters existed: the next number follows the highest of
    its office, form and year (the year in Vietnam time); unnumbered drafts count for none."""
    before = _before_sequences()
    executor = MigrationExecutor(connection)
    executor.migrate([before])
    executor.loader.build_graph()
    apps = executor.loader.project_state([before]).apps
    office = apps.get_model("dossiers", "Office").objects.create(code="xa", name="UBND xã")
    procedure = apps.get_model("dossiers", "Procedure").objects.create(
        office=office, code="P", name="Thủ tục", limit_working_days=3
    )
    dossier = apps.get_model("dossiers", "Dossier").objects.create(
        code="HS-1",
        office=office,
        procedure=procedure,
        applicant_name="Trần Thị Bình",
        received_at=vn(2026, 1, 5),
        due_at=vn(2026, 1, 8),
    )
    OldLetter = apps.get_model("dossiers", "Letter")
    for number, form, created in (
        ("03/PTC", "03", vn(2026, 2, 1)),
        ("07/PTC", "03", vn(2026, 1, 1, 0)),  # 31/12/2025 17:00 UTC: 2026 in Vietnam
        ("", "03", vn(2026, 2, 2)),
        ("09/PTC", "03", vn(2025, 12, 31, 23)),
        ("02/TB", "05", vn(2026, 2, 3)),
    ):
        OldLetter.objects.create(
            dossier=dossier,
            form=form,
            regime="2025",
            number=number,
            title="T",
            text="N",
            created_at=created,
        )

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    seeded = {(s.form, s.year): s.last for s in LetterSequence.objects.all()}
    assert seeded == {("03", 2026): 7, ("03", 2025): 9, ("05", 2026): 2}
    letter = draft_letter(Dossier.objects.get(), LetterForm.REFUSAL, reason="Không đủ điều kiện")
    with at(vn(2026, 3, 1)):
        approve_letter(letter, signer_title="Chủ tịch", signer_name="Nguyễn Văn An")
    letter.refresh_from_db()
    assert letter.number == "08/PTC"


@pytest.mark.distributed
def test_concurrent_approvals_on_postgresql_get_distinct_numbers(
    tmp_path: Path, postgres_database: str
) -> None:
    """Twelve heads approving refusals of one office at the same instant on PostgreSQL get
    the numbers 01 to 12 of the year, each once: no duplicate, no gap, no error; so do twelve
    transactions taking a number of another form at once and holding it a moment."""
    threads = 12
    report = run_race("concurrent_letters.py", threads, postgres_database, tmp_path / "var")
    assert report["vendor"] == "postgresql"
    assert report["errors"] == []
    assert sorted(report["numbers"]) == [f"{n:02d}/PTC" for n in range(1, threads + 1)]
    assert sorted(report["taken"]) == [f"{n:02d}/TB" for n in range(1, threads + 1)]
