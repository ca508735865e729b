"""Helpers for the batch review tests: the public address, a document's batch, the approval form."""

from __future__ import annotations

from dossiers.models import Document
from signing.models import Batch, BatchItem
from tests.support.pki import TEST_PASSPHRASE

__all__ = ["PUBLIC", "approve_form", "batch_of"]

PUBLIC = "https://motcua.example.vn"
"""The service's public address in these tests, the one a stamp's QR code points to."""


def batch_of(document: Document) -> Batch:
    return BatchItem.objects.select_related("batch__office").get(document=document).batch


def approve_form(*documents: Document, **extra: str) -> dict[str, str]:
    return {
        "passphrase": TEST_PASSPHRASE.decode(),
        "shown": ",".join(str(d.pk) for d in documents),
        "action": "sign",
        **extra,
    }
