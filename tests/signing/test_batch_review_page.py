"""The official's batch review page: batches per procedure, who may see them, items, previews."""

from __future__ import annotations

import datetime as dt
import io
from unittest import mock

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from PIL import Image

from dossiers.models import Document, DocumentState, Dossier, Procedure
from dossiers.services.registry import register_dossier
from signing.models import Batch, BatchItem, Signer
from signing.services import batches as batching
from tests.conftest import DataDirs, MakeAwaiting, MakeDossier, sign_in
from tests.support.review import approve_form, batch_of

pytestmark = pytest.mark.usefixtures("public_url")


# --- batches --------------------------------------------------------------------------------------


def test_batches_are_per_procedure_and_close_when_old(
    official: User, make_dossier: MakeDossier, make_awaiting: MakeAwaiting, procedure: Procedure
) -> None:
    """Documents of another procedure open their own batch; an old batch takes no more."""
    first = make_awaiting(make_dossier().dossier)
    other_procedure = Procedure.objects.create(
        office=procedure.office, code="CT-BANSAO", name="Chứng thực bản sao", limit_working_days=1
    )
    other_dossier = register_dossier(
        code="000.00.21.H26-261122-9001",
        office=procedure.office,
        procedure=other_procedure,
        applicant_name="Lê Văn Cường",
        email="",
        phone="",
        received_at=None,
    ).dossier
    other = make_awaiting(other_dossier)

    assert batch_of(other) != batch_of(first)
    assert batch_of(other).procedure == other_procedure
    assert batch_of(first).procedure == procedure
    assert batch_of(first).signer == Signer.objects.get(user=official)
    Batch.objects.filter(pk=batch_of(first).pk).update(
        created_at=timezone.now() - batching.BATCH_MAX_AGE - dt.timedelta(minutes=1)
    )
    late = make_awaiting(make_dossier().dossier)
    assert batch_of(late) != batch_of(first)
    assert batch_of(late).procedure == procedure
    still_open = make_awaiting(make_dossier().dossier)
    assert batch_of(still_open) == batch_of(late)


# --- rights ---------------------------------------------------------------------------------------


def test_a_user_without_the_signer_role_is_refused(
    client: Client, official: User, clerk: User, dossier: Dossier, make_awaiting: MakeAwaiting
) -> None:
    """A clerk of the office and a stranger get 403 on the batch, its progress and its
    approval; the stranger also on the preview; and nothing changes."""
    document = make_awaiting(dossier)
    batch = batch_of(document)
    for user in (clerk, User.objects.create_user("khach")):
        sign_in(client, user)
        assert client.get(f"/ky-duyet/{batch.pk}/").status_code == 403
        assert client.get(f"/ky-duyet/{batch.pk}/tien-do.json").status_code == 403
        post = client.post(f"/ky-duyet/{batch.pk}/", approve_form(document))
        assert post.status_code == 403
    assert client.get(f"/ky-duyet/tai-lieu/{document.pk}/xem-truoc.png").status_code == 403
    document.refresh_from_db()
    assert document.state == DocumentState.AWAITING_APPROVAL
    assert BatchItem.objects.get(document=document).decision == BatchItem.Decision.PENDING


# --- review page ----------------------------------------------------------------------------------


def test_review_page_shows_metadata_and_flags_low_ocr_confidence(
    client: Client, official: User, make_dossier: MakeDossier, make_awaiting: MakeAwaiting
) -> None:
    """Each item shows code, procedure, applicant, dates, a preview and a low-confidence flag."""
    clear = make_awaiting(make_dossier().dossier)
    blurry = make_awaiting(make_dossier().dossier)
    Document.objects.filter(pk=clear.pk).update(mean_confidence=96.5)
    Document.objects.filter(pk=blurry.pk).update(mean_confidence=batching.LOW_CONFIDENCE - 17.5)
    sign_in(client, official)

    page = client.get(f"/ky-duyet/{batch_of(clear).pk}/").content.decode()

    dossier = blurry.dossier
    assert dossier.code in page and clear.dossier.code in page
    assert dossier.procedure.name in page and dossier.applicant_name in page
    local = timezone.localtime(dossier.due_at)
    assert local.strftime("%d/%m/%Y") in page
    assert f"/ky-duyet/tai-lieu/{blurry.pk}/xem-truoc.png" in page
    assert "96,5" in page or "96.5" in page
    assert page.count("⚠") == 1


def test_preview_is_a_png_of_the_first_page_kept_in_the_data_dir(
    client: Client,
    official: User,
    dossier: Dossier,
    make_awaiting: MakeAwaiting,
    data_dirs: DataDirs,
) -> None:
    """The preview endpoint answers a small PNG of page 1 and keeps it for the next request."""
    document = make_awaiting(dossier)
    sign_in(client, official)

    response = client.get(f"/ky-duyet/tai-lieu/{document.pk}/xem-truoc.png")

    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    data = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    with Image.open(io.BytesIO(data)) as image:
        # A4 at 50 dpi
        assert abs(image.width - round(595.28 * 50 / 72)) <= 2
        assert abs(image.height - round(841.89 * 50 / 72)) <= 2
    cached = data_dirs.root / "cache" / "xem-truoc" / f"{document.pdf_sha256}.png"
    assert cached.read_bytes() == data
    with mock.patch("signing.views.subprocess.run") as run:
        again = client.get(f"/ky-duyet/tai-lieu/{document.pk}/xem-truoc.png")
        assert b"".join(again.streaming_content) == data  # type: ignore[attr-defined]
    run.assert_not_called()
