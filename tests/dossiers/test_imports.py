"""Importing dossiers: CSV and JSON uploads in the browser, and the JSON API with tokens."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from dossiers.models import ApiToken, Dossier, Membership, Office, Procedure
from dossiers.services import imports
from dossiers.services.registry import CSV_COLUMNS
from tests.conftest import DataDirs, sign_in
from tests.dossiers.receipt_text import secret_on

HEADER = ",".join(CSV_COLUMNS) + "\n"


@pytest.fixture()
def other_procedure(other_office: Office) -> Procedure:
    return Procedure.objects.create(
        office=other_office, code="HT-KHAISINH", name="Đăng ký khai sinh", limit_working_days=3
    )


def _row(code: str, office: str = "xa-thu", **overrides: str) -> dict[str, str]:
    return {
        "code": code,
        "office": office,
        "procedure": "HT-KHAISINH",
        "applicant_name": "Cao Thị Mận",
        "email": "",
        "phone": "0912345678",
        "received_at": "2026-03-09 09:00",
        **overrides,
    }


def _csv(*rows: dict[str, str]) -> bytes:
    return (HEADER + "".join(",".join(r[c] for c in CSV_COLUMNS) + "\n" for r in rows)).encode()


def test_csv_upload_reports_each_row_and_refuses_other_offices(
    client: Client,
    data_dirs: DataDirs,
    clerk: User,
    procedure: Procedure,
    other_procedure: Procedure,
) -> None:
    """Rows of the clerk's office are registered with receipts to print; a row of another
    office is refused as if that office did not exist, a bad phone with its reason."""
    sign_in(client, clerk)
    data = _csv(_row("HS-N1"), _row("HS-N2", office="xa-khac"), _row("HS-N3", phone="abc"))
    response = client.post("/tiep-nhan/nhap/", {"file": SimpleUploadedFile("ho-so.csv", data)})
    assert response.status_code == 302
    report = client.get(response["Location"])
    assert report.status_code == 200
    assert report["Cache-Control"] == "no-store" and report["Referrer-Policy"] == "no-referrer"
    html = report.content.decode()
    assert "Đã tiếp nhận 1 hồ sơ." in html and "Từ chối 2 hồ sơ." in html
    assert "Không có cơ quan mã &#x27;xa-khac&#x27; trong các cơ quan bạn tiếp nhận." in html
    assert "Số điện thoại &#x27;abc&#x27; không hợp lệ" in html
    assert list(Dossier.objects.values_list("code", flat=True)) == ["HS-N1"]
    dossier = Dossier.objects.get()
    pdf = client.get(f"{response['Location'].replace('nhap/ket-qua', 'giay-hen')}{dossier.pk}.pdf")
    assert pdf.status_code == 200
    assert dossier.check_secret(secret_on(pdf.content))


def test_json_upload_generates_missing_codes(
    client: Client, data_dirs: DataDirs, clerk: User, office: Office, procedure: Procedure
) -> None:
    office.agency_code = "000.00.14.H56"
    office.save()
    sign_in(client, clerk)
    body = json.dumps({"dossiers": [_row(""), _row("HS-J2")]}).encode()
    response = client.post("/tiep-nhan/nhap/", {"file": SimpleUploadedFile("ho-so.json", body)})
    html = client.get(response["Location"]).content.decode()
    assert "000.00.14.H56-260309-0001" in html and "HS-J2" in html
    assert Dossier.objects.count() == 2


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("ho-so.csv", b"code,office\nHS-1,xa-thu\n", "Tệp CSV thiếu cột"),
        ("ho-so.json", b"{not json", "Tệp JSON không đọc được"),
        ("ho-so.json", b'{"rows": []}', "Tệp JSON phải là một danh sách"),
        ("ho-so.csv", "Mã,Tên\n".encode("utf-16"), "không phải văn bản UTF-8"),
        ("ho-so.xlsx", b"PK\x03\x04", "Chỉ nhận tệp .csv hoặc .json"),
    ],
)
def test_bad_files_are_refused_whole_in_vietnamese(
    client: Client,
    data_dirs: DataDirs,
    clerk: User,
    procedure: Procedure,
    name: str,
    data: bytes,
    reason: str,
) -> None:
    sign_in(client, clerk)
    response = client.post("/tiep-nhan/nhap/", {"file": SimpleUploadedFile(name, data)})
    assert response.status_code == 400
    assert reason in response.content.decode()
    assert not Dossier.objects.exists()


def test_uploads_are_bounded_in_size_and_rows(
    client: Client,
    data_dirs: DataDirs,
    clerk: User,
    procedure: Procedure,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Too many rows, or too many bytes, and nothing is registered."""
    monkeypatch.setattr(imports, "MAX_ROWS", 2)
    sign_in(client, clerk)
    three = _csv(_row("HS-1"), _row("HS-2"), _row("HS-3"))
    response = client.post("/tiep-nhan/nhap/", {"file": SimpleUploadedFile("a.csv", three)})
    assert response.status_code == 400
    assert "nhiều hơn 2 hồ sơ mỗi lần nhập" in response.content.decode()
    big = _csv(_row("HS-1")) + b"#" * imports.MAX_BYTES
    response = client.post("/tiep-nhan/nhap/", {"file": SimpleUploadedFile("a.csv", big)})
    assert response.status_code == 400
    assert "Tệp lớn hơn 1024 KB" in response.content.decode()
    assert not Dossier.objects.exists()


def test_an_official_cannot_import(client: Client, data_dirs: DataDirs, official: User) -> None:
    sign_in(client, official)
    assert client.get("/tiep-nhan/nhap/").status_code == 403


# --- the JSON API ----------------------------------------------------------------------------


def _api(client: Client, token: str | None, body: object) -> object:
    headers = {"Authorization": f"Token {token}"} if token else {}
    return client.post(
        "/api/v1/dossiers/import/",
        json.dumps(body),
        content_type="application/json",
        headers=headers,
    )


def test_the_api_imports_with_a_clerks_token_and_returns_the_secrets(
    data_dirs: DataDirs, clerk: User, procedure: Procedure, other_procedure: Procedure
) -> None:
    """A token of office A registers into A; its row for office B is refused with a reason."""
    _, token = ApiToken.issue(clerk, "he-thong-mot-cua")
    stored = ApiToken.objects.get()
    assert stored.key_hash != token and token not in repr(list(ApiToken.objects.values()))
    response = _api(Client(), token, {"dossiers": [_row("HS-A1"), _row("HS-B1", office="xa-khac")]})
    assert response.status_code == 200  # type: ignore[attr-defined]
    assert response["Cache-Control"] == "no-store"  # type: ignore[index]
    body = response.json()  # type: ignore[attr-defined]
    assert (body["registered"], body["refused"]) == (1, 1)
    ok, refused = body["results"]
    assert ok["ok"] and ok["code"] == "HS-A1" and ok["line"] == 1
    assert Dossier.objects.get(code="HS-A1").check_secret(ok["secret"])
    assert refused == {
        "line": 2,
        "code": "HS-B1",
        "ok": False,
        "error": "Không có cơ quan mã 'xa-khac' trong các cơ quan bạn tiếp nhận.",
        "due_at": "",
        "secret": None,
    }
    assert not Dossier.objects.filter(office__code="xa-khac").exists()


def test_the_api_refuses_without_a_valid_token(
    data_dirs: DataDirs, clerk: User, official: User, procedure: Procedure
) -> None:
    """No token, a wrong or revoked one: 401; a token of someone not a clerk: 403."""
    body = {"dossiers": [_row("HS-X")]}
    assert _api(Client(), None, body).status_code == 401  # type: ignore[attr-defined]
    assert _api(Client(), "sai-ma-truy-cap", body).status_code == 401  # type: ignore[attr-defined]
    _, token = ApiToken.issue(clerk, "cu")
    call_command("api_token", clerk.username, "--revoke", stdout=None)
    assert _api(Client(), token, body).status_code == 401  # type: ignore[attr-defined]
    _, official_token = ApiToken.issue(official, "lanh-dao")
    assert _api(Client(), official_token, body).status_code == 403  # type: ignore[attr-defined]
    # a session does not open the API: only tokens do
    session = Client()
    sign_in(session, clerk)
    assert _api(session, None, body).status_code == 401  # type: ignore[attr-defined]
    assert not Dossier.objects.exists()


def test_the_api_checks_the_shape_and_the_row_count(
    data_dirs: DataDirs, clerk: User, procedure: Procedure, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, token = ApiToken.issue(clerk, "he-thong")
    assert _api(Client(), token, {"dossiers": []}).status_code == 400  # type: ignore[attr-defined]
    missing = _api(Client(), token, {"dossiers": [{"code": "HS-1"}]})
    assert missing.status_code == 400  # type: ignore[attr-defined]
    too_many = {"dossiers": [_row(f"HS-{n}") for n in range(imports.MAX_ROWS + 1)]}
    assert _api(Client(), token, too_many).status_code == 400  # type: ignore[attr-defined]
    assert not Dossier.objects.exists()


@pytest.mark.usefixtures("clear_cache")
def test_the_api_is_throttled(data_dirs: DataDirs, clerk: User, procedure: Procedure) -> None:
    _, token = ApiToken.issue(clerk, "he-thong")
    answers = [
        _api(Client(), token, {"dossiers": [_row(f"HS-T{n}")]}).status_code  # type: ignore[attr-defined]
        for n in range(31)
    ]
    assert answers[:30] == [200] * 30
    assert answers[30] == 429


def test_the_api_token_command_makes_a_token_for_a_clerk_only(
    data_dirs: DataDirs, clerk: User, official: User, capsys: pytest.CaptureFixture[str]
) -> None:
    call_command("api_token", clerk.username, "--name", "mot-cua-tinh")
    token = capsys.readouterr().out.strip()
    row = ApiToken.objects.get()
    assert row.user == clerk and row.name == "mot-cua-tinh" and token.startswith(row.prefix)
    with pytest.raises(CommandError, match="không là cán bộ tiếp nhận"):
        call_command("api_token", official.username)


def test_the_openapi_schema_describes_the_import(data_dirs: DataDirs) -> None:
    response = Client().get("/api/schema/", headers={"Accept": "application/json"})
    assert response.status_code == 200
    schema = json.loads(response.content)
    assert schema["openapi"].startswith("3.")
    operation = schema["paths"]["/api/v1/dossiers/import/"]["post"]
    assert operation["operationId"] == "dossiers_import"
    assert {"tokenAuth": []} in operation["security"]
    assert schema["components"]["securitySchemes"]["tokenAuth"]["in"] == "header"
    body = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    fields = schema["components"]["schemas"][body.rsplit("/", 1)[1]]["properties"]
    assert fields["dossiers"]["maxItems"] == imports.MAX_ROWS


def test_membership_changes_follow_the_token(
    data_dirs: DataDirs, clerk: User, office: Office, procedure: Procedure
) -> None:
    """The token acts with its owner's roles of the moment: no clerk role, no import."""
    _, token = ApiToken.issue(clerk, "he-thong")
    Membership.objects.filter(user=clerk).delete()
    response = _api(Client(), token, {"dossiers": [_row("HS-M")]})
    assert response.status_code == 403  # type: ignore[attr-defined]
