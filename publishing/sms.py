"""SMS delivery: a small backend interface, with a file backend for the embedded mode."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from core.files import write_atomically


class SmsBackend(Protocol):
    def send(self, phone: str, text: str) -> None:
        """Send one text message or raise."""


@dataclass(frozen=True)
class FileSmsBackend:
    """Writes each message as a JSON file, for the embedded mode and for tests."""

    folder: Path
    """Where the message files go (``DATA/outbox/sms``)."""

    def send(self, phone: str, text: str) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        name = f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}.json"
        message = json.dumps({"to": phone, "text": text}, ensure_ascii=False)
        write_atomically(self.folder / name, message.encode("utf-8"))
