"""Reading a receipt PDF back as the citizen would: its code and its lookup secret."""

from __future__ import annotations

import io
import re

from pypdf import PdfReader

from dossiers.services.registry import normalise_secret

_SECRET = re.compile(r"Mã tra cứu:\s*((?:[A-Z2-9]{4}\s*){8})")


def secret_on(pdf: bytes) -> str:
    """The lookup secret printed on ``pdf``, without its spaces."""
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    found = _SECRET.search(text)
    assert found is not None, text
    return normalise_secret(found.group(1))
