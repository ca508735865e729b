"""Signature and seal images: uploaded in the admin, checked, stored under MEDIA_ROOT, used."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from PIL import Image, ImageDraw
from pytest_django import Settings

from dossiers.models import Membership, Office, Procedure, Role
from signing.models import Batch, Signer
from signing.services.options import stamp_for
from tests.conftest import DataDirs, sign_in
from tests.support.admin_site import form_of


def image_bytes(size: tuple[int, int] = (300, 100), kind: str = "PNG") -> bytes:
    """A drawn line on a transparent (PNG, GIF) or white (JPEG) background."""
    image = Image.new("RGB", size, "white") if kind == "JPEG" else Image.new("RGBA", size)
    ImageDraw.Draw(image).line([(5, size[1] - 5), (size[0] - 5, 5)], fill="navy", width=4)
    buffer = io.BytesIO()
    image.save(buffer, kind)
    return buffer.getvalue()


@pytest.fixture()
def media(settings: Settings, data_dirs: DataDirs) -> Path:
    settings.MEDIA_ROOT = data_dirs.root / "media"
    return Path(settings.MEDIA_ROOT)


@pytest.fixture()
def office_admin(office: Office) -> User:
    user = User.objects.create_user("quantri-xa", is_staff=True)
    Membership.objects.create(user=user, office=office, role=Role.ADMIN)
    return user


def _post_images(client: Client, signer: Signer, **files: SimpleUploadedFile) -> int:
    url = f"/quan-tri/signing/signer/{signer.pk}/change/"
    data = form_of(client, url)
    data.update(files)
    return client.post(url, data).status_code


@pytest.mark.django_db()
@pytest.mark.parametrize(
    ("name", "content", "complaint"),
    [
        ("chu-ky.png", b"khong phai anh", "không phải ảnh"),
        ("chu-ky.png", image_bytes(kind="GIF"), "PNG hoặc JPEG"),
        ("chu-ky.png", image_bytes((20, 10)), "điểm ảnh"),
        ("chu-ky.png", b"\x89PNG\r\n\x1a\n" + b"0" * (1024 * 1024 + 1), "quá lớn"),
    ],
)
def test_an_upload_that_is_not_a_fitting_image_is_refused(
    client: Client,
    official: User,
    office_admin: User,
    media: Path,
    name: str,
    content: bytes,
    complaint: str,
) -> None:
    signer = Signer.objects.get(user=official)
    sign_in(client, office_admin)
    url = f"/quan-tri/signing/signer/{signer.pk}/change/"
    data = form_of(client, url)
    data["signature_image"] = SimpleUploadedFile(name, content, "image/png")
    response = client.post(url, data)
    assert response.status_code == 200
    assert complaint in response.content.decode()
    signer.refresh_from_db()
    assert not signer.signature_image
    assert not (media / "chu-ky").exists() or not any((media / "chu-ky").iterdir())


@pytest.mark.django_db()
def test_uploaded_images_are_stored_under_media_and_sign_the_stamp(
    client: Client, official: User, office_admin: User, media: Path, procedure: Procedure
) -> None:
    signer = Signer.objects.get(user=official)
    sign_in(client, office_admin)
    page = client.get(f"/quan-tri/signing/signer/{signer.pk}/change/").content.decode()
    assert 'accept="image/png,image/jpeg"' in page and 'enctype="multipart/form-data"' in page
    status = _post_images(
        client,
        signer,
        signature_image=SimpleUploadedFile("C:\\ảnh\\chữ ký.png", image_bytes(), "image/png"),
        seal_image=SimpleUploadedFile("dau.jpeg", image_bytes((200, 200), "JPEG"), "image/jpeg"),
    )
    assert status == 302
    signer.refresh_from_db()
    assert signer.signature_path is not None and signer.seal_path is not None
    assert signer.signature_path.parent == media / "chu-ky"
    assert signer.signature_path.suffix == ".png" and signer.seal_path.suffix == ".jpg"
    assert "chữ ký" not in signer.signature_image.name  # never the uploader's file name
    assert signer.signature_path.read_bytes()[:4] == b"\x89PNG"

    stamp = stamp_for(signer, Batch(office=signer.office, procedure=procedure))
    assert stamp.layout == "personal"
    assert stamp.signature_image == signer.signature_path and stamp.seal_image == signer.seal_path

    # the page names the stored image but links to nothing (images are not served)
    page = client.get(f"/quan-tri/signing/signer/{signer.pk}/change/").content.decode()
    assert (
        signer.signature_image.name in page and f'href="{signer.signature_image.url}"' not in page
    )
    # editing another field keeps the images
    assert _post_images(client, signer) == 302
    signer.refresh_from_db()
    assert signer.signature_path is not None and signer.signature_path.exists()


BEFORE = [("signing", "0005_officials_are_members")]


@pytest.mark.django_db(transaction=True)
def test_paths_typed_before_uploads_keep_working(tmp_path: Path, settings: Settings) -> None:
    """The migration copies a readable image into MEDIA_ROOT and keeps an unreadable path."""
    settings.MEDIA_ROOT = tmp_path / "media"
    readable = tmp_path / "chu-ky-cu.png"
    readable.write_bytes(image_bytes())
    elsewhere = "/srv/chi-co-tren-may-ky/dau.png"

    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    apps = executor.loader.project_state(BEFORE).apps
    office = apps.get_model("dossiers", "Office").objects.create(code="xa", name="UBND xã")
    user = apps.get_model("auth", "User").objects.create(username="lanhdao")
    apps.get_model("signing", "Signer").objects.create(
        user=user,
        office=office,
        display_name="Nguyễn Văn An",
        pkcs12_path="/srv/khoa.p12",
        signature_image=str(readable),
        seal_image=elsewhere,
    )
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    signer = Signer.objects.get()
    assert (
        signer.signature_path is not None
        and signer.signature_path.parent == tmp_path / "media" / "chu-ky"
    )
    assert signer.signature_path.read_bytes() == readable.read_bytes()
    assert signer.seal_path == Path(elsewhere)
