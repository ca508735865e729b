"""The people of the dossier-life tests: an office head who signs letters, members elsewhere."""

from __future__ import annotations

import io

from django.contrib.auth.models import User
from pypdf import PdfReader

from dossiers.models import Dossier, Event, Membership, Office, Role
from signing.devpki import IssuedKey
from tests.conftest import make_signing_member


def make_head(office: Office, pki: IssuedKey, username: str = "thutruong") -> User:
    """The office's head, who signs letters with the throwaway key (passphrase
    ``tests.support.pki.TEST_PASSPHRASE``)."""
    return make_signing_member(office, pki, username, Role.HEAD)


def make_member(username: str, office: Office, role: Role) -> User:
    """A user holding ``role`` in ``office``."""
    user = User.objects.create_user(username)
    Membership.objects.create(user=user, office=office, role=role)
    return user


def kinds(dossier: Dossier) -> set[str]:
    """The kinds of the dossier's events."""
    return set(Event.objects.filter(dossier=dossier).values_list("kind", flat=True))


def pdf_text(data: bytes) -> str:
    """The PDF's text, whitespace collapsed."""
    pages = PdfReader(io.BytesIO(data)).pages
    return " ".join(" ".join(page.extract_text() for page in pages).split())
