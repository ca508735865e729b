"""Reissuing a lost lookup secret: the old one void at once, its reissue recorded."""

from __future__ import annotations

from django.db import transaction

from dossiers.models import Dossier, hash_secret
from dossiers.services.registry import Registered, new_secret, normalise_secret
from dossiers.services.workflow import record_event

__all__ = ["reissue_secret"]


def reissue_secret(dossier: Dossier, *, actor: str) -> Registered:
    """Give ``dossier`` a new lookup secret and return it with the dossier, for a new receipt.

    The hash is replaced in one locked update, so the old secret stops opening the
    lookup as soon as the transaction commits; the event names the clerk, not the secret.
    The caller checks that ``actor`` is a clerk of the dossier's office.
    """
    secret = new_secret()
    with transaction.atomic():
        locked = Dossier.objects.select_for_update().get(pk=dossier.pk)
        locked.secret_hash = hash_secret(normalise_secret(secret))
        locked.save(update_fields=["secret_hash"])
        record_event(locked, "secret_reissued", actor=actor)
    dossier.secret_hash = locked.secret_hash
    return Registered(dossier=locked, secret=secret)
