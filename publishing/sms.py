"""SMS: GSM-7 text, templates that fit one part, and gateways (a file, or an HTTP service)."""

from __future__ import annotations

import base64
import json
import re
import unicodedata
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from core.errors import PipelineError
from core.files import write_atomically

__all__ = [
    "GSM7_BASIC",
    "GSM7_EXTENSION",
    "SMS_PART",
    "FileSmsBackend",
    "HttpSmsGateway",
    "SmsBackend",
    "SmsGatewayError",
    "SmsTemplateError",
    "check_template",
    "gsm7_length",
    "non_gsm7",
    "render_sms",
    "unaccented",
]

SMS_PART = 160
"""GSM-7 characters in one SMS part (a longer text is split into 153-character parts)."""

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
"""The GSM 03.38 default alphabet: one septet each."""

GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")
"""The GSM 03.38 extension table: an escape and a septet, so two characters each."""

_LETTERS = str.maketrans({"đ": "d", "Đ": "D"})
_PUNCTUATION = str.maketrans(
    {"–": "-", "—": "-", "‘": "'", "’": "'", "“": '"', "”": '"', "…": "...", "\u00a0": " "}
)
_PLACEHOLDER = re.compile(r"\{(\w*)\}")


class SmsGatewayError(PipelineError):
    """The gateway did not accept the message: down, slow or refusing; try again later."""

    default_message_vi = "Tổng đài tin nhắn không nhận tin, sẽ gửi lại sau."
    default_disposition = "retry"


class SmsTemplateError(ValueError):
    """A template that cannot be sent as one GSM-7 part; the message is in Vietnamese."""


def unaccented(text: str) -> str:
    """Vietnamese text without tone or vowel marks, đ as d: ``Xã Đông Hòa`` → ``Xa Dong Hoa``.

    Typographic dashes and quotes become their ASCII forms; what is left outside GSM-7
    becomes ``?``, so the result always goes as GSM-7 (160 characters a part), never UCS-2.
    """
    decomposed = unicodedata.normalize("NFD", text.translate(_LETTERS).translate(_PUNCTUATION))
    bare = unicodedata.normalize(
        "NFC", "".join(c for c in decomposed if not unicodedata.combining(c))
    )
    return "".join(c if c in GSM7_BASIC or c in GSM7_EXTENSION else "?" for c in bare)


def non_gsm7(text: str) -> list[str]:
    """The distinct characters of ``text`` that GSM-7 cannot carry, in order of appearance."""
    return list(dict.fromkeys(c for c in text if c not in GSM7_BASIC and c not in GSM7_EXTENSION))


def gsm7_length(text: str) -> int:
    """Length of ``text`` in GSM-7 characters (the extension table counts twice)."""
    return sum(2 if c in GSM7_EXTENSION else 1 for c in text)


def _substitute(template: str, values: Mapping[str, str]) -> str:
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


def _shorten(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters at a word boundary, without trailing punctuation."""
    if len(text) <= limit:
        return text
    head = text[: limit + 1]
    cut = head.rsplit(" ", 1)[0] if " " in head else head
    return cut[:limit].rstrip(" ,;:-.")


def check_template(template: str, names: frozenset[str]) -> None:
    """Refuse a template with characters outside GSM-7 or an unknown ``{placeholder}``."""
    bad = non_gsm7(template)
    if bad:
        raise SmsTemplateError(
            "Mẫu tin chỉ dùng chữ không dấu (bảng GSM-7); bỏ các ký tự: "
            + " ".join(repr(c) for c in bad)
            + f". Gợi ý: {unaccented(template)}"
        )
    unknown = sorted({m.group(1) for m in _PLACEHOLDER.finditer(template)} - names)
    if unknown:
        raise SmsTemplateError(
            "Mẫu tin có chỗ điền không biết: "
            + ", ".join("{" + name + "}" for name in unknown)
            + ". Được dùng: "
            + ", ".join("{" + name + "}" for name in sorted(names))
            + "."
        )


def render_sms(
    template: str, values: Mapping[str, str], *, shrink: str = "office", limit: int = SMS_PART
) -> str:
    """The template filled with ``values``, unaccented, as one GSM-7 part where possible.

    ``values[shrink]`` (the office's name) is cut at a word boundary to leave room for
    the rest; the other values are never cut. The template is checked first
    (``check_template``); a text that cannot fit even without the shrinkable value is
    returned whole (the gateway splits it into GSM-7 parts, still never UCS-2).
    """
    check_template(template, frozenset(values))
    plain = {name: unaccented(value) for name, value in values.items()}
    uses = template.count("{" + shrink + "}")
    if uses:
        room = (limit - gsm7_length(_substitute(template, {**plain, shrink: ""}))) // uses
        value = _shorten(plain[shrink], max(room, 0))
        while value and gsm7_length(value) > room:  # the extension table counts twice
            value = _shorten(value, len(value) - 1)
        plain[shrink] = value
    return _substitute(template, plain)


class SmsBackend(Protocol):
    """Where a text message goes: a gateway that accepts it, or raises ``SmsGatewayError``."""

    def send(self, phone: str, text: str, *, key: str) -> None:
        """Send one text message; ``key`` is the same on every try of the same message."""


@dataclass(frozen=True)
class FileSmsBackend:
    """Writes each message as a JSON file named by its key, for the embedded mode and tests.

    A message tried again under the same key overwrites its own file, so a folder holds
    each message once however often it was tried.
    """

    folder: Path
    """Where the message files go (``DATA/outbox/sms``)."""

    def send(self, phone: str, text: str, *, key: str) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        message = json.dumps({"to": phone, "text": text, "key": key}, ensure_ascii=False)
        write_atomically(self.folder / f"{key}.json", message.encode("utf-8"))


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A gateway that redirects has not accepted the message: no following, try again."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


@dataclass(frozen=True)
class HttpSmsGateway:
    """An HTTP SMS gateway: a GET to a URL template, or a POST of a JSON body.

    Any 2xx answer means accepted; anything else, a timeout or a refused connection raises
    ``SmsGatewayError`` (to be tried again with the same ``Idempotency-Key``). Errors and
    logs carry the status or the kind of failure, never the number, text or credentials.
    """

    url: str
    """``https://gw.example/send?to={phone}&text={text}``: ``{phone}``, ``{text}`` and
    ``{key}`` are URL-encoded in; without ``{text}`` the message is POSTed as JSON
    ``{"to": …, "text": …, "id": …}``."""

    user: str = ""
    """User for HTTP Basic authentication (with ``password``), or empty."""

    password: str = ""
    """Password for HTTP Basic authentication."""

    token: str = ""
    """Bearer token (``Authorization: Bearer …``); wins over user and password."""

    timeout_s: float = 10.0
    """Seconds to wait to connect and for each read before the try counts as failed."""

    def __post_init__(self) -> None:
        if urllib.parse.urlsplit(self.url).scheme not in ("http", "https"):
            raise ValueError("the SMS gateway URL must be http:// or https://")

    def request(self, phone: str, text: str, *, key: str) -> urllib.request.Request:
        """The HTTP request that sends one message (built without sending it)."""
        quoted = {
            name: urllib.parse.quote(value, safe="")
            for name, value in (("phone", phone), ("text", text), ("key", key))
        }
        url = _PLACEHOLDER.sub(lambda m: quoted.get(m.group(1), m.group(0)), self.url)
        headers = {"Idempotency-Key": key, "User-Agent": "motcua"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        elif self.user:
            pair = f"{self.user}:{self.password}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
        body = None
        if "{text}" not in self.url:
            body = json.dumps({"to": phone, "text": text, "id": key}).encode("utf-8")
            headers["Content-Type"] = "application/json"
        # the scheme is http(s), checked at construction; placeholders are URL-encoded
        return urllib.request.Request(  # noqa: S310
            url, data=body, headers=headers, method="GET" if body is None else "POST"
        )

    def send(self, phone: str, text: str, *, key: str) -> None:
        request = self.request(phone, text, key=key)
        try:
            with _OPENER.open(request, timeout=self.timeout_s) as response:
                status = int(response.status)
                response.read(4096)
        except urllib.error.HTTPError as exc:
            exc.close()
            raise SmsGatewayError(detail=f"HTTP {exc.code}") from None
        except (TimeoutError, urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise SmsGatewayError(detail=type(reason).__name__) from None
        if not 200 <= status < 300:
            raise SmsGatewayError(detail=f"HTTP {status}")
