"""A flood of wrong lookups leaves one INFO line per client and minute, not a WARNING per guess."""

from __future__ import annotations

import logging
import time

import pytest
from django.test import Client

from publishing.services import refusal_log
from publishing.services.throttle import client_tag
from tests.conftest import DataDirs, MakeDossier


def _lines(caplog: pytest.LogCaptureFixture, name: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == name]


@pytest.mark.usefixtures("data_dirs", "clear_cache")
def test_a_flood_of_wrong_secrets_is_summarised_per_client_and_minute(
    client: Client,
    make_dossier: MakeDossier,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dossier = make_dossier().dossier
    clock = [1_800_000_000.0]  # the start of a minute
    monkeypatch.setattr(time, "time", lambda: clock[0])
    caplog.set_level(logging.DEBUG)
    statuses = [
        client.post(
            "/tra-cuu/", {"code": dossier.code, "secret": f"SAI{n:029d}"}, REMOTE_ADDR=address
        ).status_code
        for n in range(30)
        for address in ("198.51.100.7", "198.51.100.8")
    ]
    assert set(statuses) == {403, 429}
    assert _lines(caplog, "django.request") == []  # no "Forbidden: /tra-cuu/" per guess
    lines = _lines(caplog, "publishing.lookup")
    assert [r.levelno for r in lines] == [logging.INFO, logging.INFO]  # one per client
    tags = {client_tag("198.51.100.7"), client_tag("198.51.100.8")}
    assert {r.getMessage().split()[4] for r in lines} == tags
    text = " ".join(r.getMessage() for r in lines)
    assert "198.51.100" not in text and dossier.code not in text and "SAI" not in text

    caplog.clear()
    clock[0] += refusal_log.WINDOW_S  # the next minute: one line, with the count before
    status = client.post(
        "/tra-cuu/", {"code": dossier.code, "secret": "SAI" * 11}, REMOTE_ADDR="198.51.100.7"
    ).status_code
    assert status in (403, 429)
    (line,) = _lines(caplog, "publishing.lookup")
    assert line.getMessage().endswith("30 in the minute before")


@pytest.mark.usefixtures("clear_cache")
def test_other_client_errors_are_still_logged_by_django(
    client: Client, data_dirs: DataDirs, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    assert client.get("/tra-cuu/khong-co/").status_code == 404
    assert [r.name for r in caplog.records] == ["django.request"]
