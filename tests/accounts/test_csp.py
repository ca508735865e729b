"""Content-Security-Policy with a nonce: inline <script> and <style> run only with the nonce
of their own response, and no page (the admin included) has an inline script without it."""

from __future__ import annotations

import re
from pathlib import Path

from django.contrib.auth.models import User
from django.test import Client

from tests.conftest import sign_in

ROOT = Path(__file__).resolve().parents[2]
INLINE = re.compile(r"<(script|style)\b([^>]*)>", re.IGNORECASE)


def _nonce(header: str) -> str:
    found = re.search(r"script-src [^;]*'nonce-([^']+)'", header)
    assert found, header
    style = re.search(r"style-src [^;]*'nonce-([^']+)'", header)
    assert style and style.group(1) == found.group(1)
    return found.group(1)


def _inline_tags(html: str) -> list[str]:
    """Attributes of every <style> and of every <script> that runs inline (no src, not JSON)."""
    tags = []
    for kind, attributes in INLINE.findall(html):
        if kind.lower() == "script" and ("src=" in attributes or "application/json" in attributes):
            continue
        tags.append(attributes)
    return tags


def test_a_page_with_inline_code_carries_its_responses_nonce(client: Client) -> None:
    """The lookup page's script and styles carry the nonce named in its header; the next
    response has another nonce; 'unsafe-inline' never reaches scripts."""
    first = client.get("/tra-cuu/")
    header = first["Content-Security-Policy"]
    nonce = _nonce(header)
    tags = _inline_tags(first.content.decode())
    assert len(tags) >= 2
    assert all(f'nonce="{nonce}"' in attributes for attributes in tags)
    assert "script-src 'self' 'nonce-" in header and "object-src 'none'" in header
    assert "frame-ancestors 'none'" in header
    assert "'unsafe-inline'" not in header.split("script-src")[1].split(";")[0]
    assert _nonce(client.get("/tra-cuu/")["Content-Security-Policy"]) != nonce


def test_the_signing_and_admin_pages_have_no_inline_script_without_the_nonce(
    client: Client, official: User
) -> None:
    """The signing pages and the admin (index, a list, a form) run under the same policy."""
    official.is_staff = official.is_superuser = True
    official.save()
    sign_in(client, official)
    for url in ("/ky-duyet/", "/quan-tri/", "/quan-tri/auth/user/", "/quan-tri/auth/user/add/"):
        response = client.get(url)
        assert response.status_code == 200, url
        header = response["Content-Security-Policy"]
        assert "script-src 'self'" in header, url
        tags = _inline_tags(response.content.decode())
        if tags:  # a nonce is named only by a response that uses one
            nonce = _nonce(header)
            assert all(f'nonce="{nonce}"' in attributes for attributes in tags), url


def test_no_template_has_an_inline_script_or_style_without_the_nonce() -> None:
    """Every <script> and <style> written in the project's templates carries the nonce."""
    missing = []
    for template in ROOT.glob("*/templates/**/*.html"):
        for attributes in _inline_tags(template.read_text(encoding="utf-8")):
            if 'nonce="{{ request.csp_nonce }}"' not in attributes:
                missing.append(str(template.relative_to(ROOT)))
    assert missing == []
