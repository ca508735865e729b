"""Signing an approved batch in the background: live progress on the web, resuming a failure."""

from __future__ import annotations

import json
import threading
from typing import Any, cast
from unittest import mock

import pytest
from django.contrib.auth.models import User
from django.test import Client

from dossiers.models import Document, DocumentState
from signing.models import Batch
from signing.pades.sign import sign_pdf
from tests.conftest import MakeAwaiting, MakeDossier, sign_in
from tests.support.review import approve_form, batch_of

pytestmark = pytest.mark.usefixtures("public_url")


def wait_for_signing_thread(batch: Batch, timeout: float = 60) -> None:
    """Join the background signing thread of ``batch`` if it is still running."""
    for thread in threading.enumerate():
        if thread.name == f"ky-lo-{batch.pk}":
            thread.join(timeout)
            assert not thread.is_alive(), "signing thread did not finish"


@pytest.mark.django_db(transaction=True)
def test_signing_runs_in_the_background_with_live_progress(
    client: Client, official: User, make_dossier: MakeDossier, make_awaiting: MakeAwaiting
) -> None:
    """The POST returns while signing goes on; the progress endpoint follows it to the end."""
    documents = [make_awaiting(make_dossier().dossier) for _ in range(2)]
    batch = batch_of(documents[0])
    sign_in(client, official)
    reached, gate = threading.Event(), threading.Event()
    calls: list[int] = []

    def sign_slowly(data: bytes, key: Any, options: Any) -> bytes:
        calls.append(1)
        if len(calls) == 2:
            reached.set()
            assert gate.wait(30)
        return sign_pdf(data, key, options)

    def progress() -> dict[str, Any]:
        response = client.get(f"/ky-duyet/{batch.pk}/tien-do.json")
        assert response.status_code == 200
        return cast(dict[str, Any], json.loads(response.content))

    with (
        mock.patch("signing.engine.jobs.sign_pdf", side_effect=sign_slowly),
        mock.patch("publishing.services.publication.enqueue") as publish,
    ):
        started = client.post(f"/ky-duyet/{batch.pk}/", approve_form(*documents))
        try:
            assert started.status_code == 302
            # the thread now waits inside its second signature, away from the database
            assert reached.wait(30)
            middle = progress()
            assert middle["state"] == Batch.State.SIGNING
            assert middle["run"] == {"running": True, "done": 1, "total": 2, "percent": 50}
            assert middle["items"]["signed"] == 1 and middle["items"]["approved"] == 1
            page = client.get(f"/ky-duyet/{batch.pk}/").content.decode()
            assert "Đang ký" in page
            assert 'id="tien-do"' in page and "<progress" in page
            busy = client.post(f"/ky-duyet/{batch.pk}/", approve_form(), follow=True)
            assert "đang được ký" in busy.content.decode()
        finally:
            gate.set()
            wait_for_signing_thread(batch)
        # each signature, once committed, is handed to publishing
        assert {c.args[0] for c in publish.call_args_list} == {"publishing.tasks.publish_document"}
        assert sorted(c.args[1] for c in publish.call_args_list) == [d.pk for d in documents]

    final = progress()
    assert final["state"] == Batch.State.DONE
    assert final["run"] == {"running": False, "done": 2, "total": 2, "percent": 100}
    assert final["items"]["signed"] == 2 and final["items"]["pending"] == 0
    assert final["error"] == ""
    assert len(calls) == 2
    for document in documents:
        assert Document.objects.get(pk=document.pk).state == DocumentState.SIGNED


def test_an_interrupted_batch_resumes_from_the_web_without_signing_twice(
    client: Client, official: User, make_dossier: MakeDossier, make_awaiting: MakeAwaiting
) -> None:
    """After a failure mid-batch, approving again signs only what is left."""
    documents = [make_awaiting(make_dossier().dossier) for _ in range(2)]
    batch = batch_of(documents[0])
    sign_in(client, official)
    calls: list[int] = []

    def fail_second(data: bytes, key: Any, options: Any) -> bytes:
        calls.append(1)
        if len(calls) == 2:
            from signing.errors import SignatureOutputError

            raise SignatureOutputError("ổ đĩa đầy")
        return sign_pdf(data, key, options)

    with mock.patch("signing.engine.jobs.sign_pdf", side_effect=fail_second):
        first = client.post(f"/ky-duyet/{batch.pk}/", approve_form(*documents), follow=True)
    assert "ổ đĩa đầy" in first.content.decode()
    batch.refresh_from_db()
    assert batch.state == Batch.State.SIGNING
    assert batch.last_error == f"Hồ sơ {documents[1].dossier.code}: ổ đĩa đầy"
    signed_first = Document.objects.get(pk=documents[0].pk).signed_sha256

    with mock.patch("signing.engine.jobs.sign_pdf", wraps=sign_pdf) as spy:
        client.post(f"/ky-duyet/{batch.pk}/", approve_form())

    assert spy.call_count == 1
    assert Document.objects.get(pk=documents[0].pk).signed_sha256 == signed_first
    assert Document.objects.get(pk=documents[1].pk).state == DocumentState.SIGNED
    batch.refresh_from_db()
    assert batch.state == Batch.State.DONE and batch.last_error == ""
