"""A download whose signed file cannot be read: a clear answer, and no download recorded."""

from __future__ import annotations

from pathlib import Path

from django.test import Client

from audit.models import AuditEntry
from audit.services.record import Action
from tests.publishing.conftest import Published, download_link


def test_a_result_that_cannot_be_read_is_not_recorded_as_downloaded(
    client: Client, published: Published
) -> None:
    """The signed file went missing (a disk or a restore gone wrong): the citizen gets 503
    with what to do, in Vietnamese; the audit trail records no download that did not happen."""
    page = client.post(
        "/tra-cuu/", {"code": published.dossier.code, "secret": published.secret}
    ).content.decode()
    Path(published.document.signed_path).unlink()
    response = client.get(download_link(page))
    assert response.status_code == 503
    html = response.content.decode()
    assert "Tạm thời không đọc được tệp kết quả" in html and "%PDF" not in html
    assert response["Cache-Control"] == "no-store"
    assert not AuditEntry.objects.filter(action=Action.DOWNLOADED).exists()
