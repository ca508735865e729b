"""Preparing a data directory: folders, migrations and, on first run, development data."""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import transaction

from dossiers.models import Membership, Office, Procedure, Role, StampLayout

DEMO_OFFICE = ("xa-demo", "UBND xã Tân Lập (dữ liệu mẫu)")
DEMO_PROCEDURES = [
    ("CT-BANSAO", "Chứng thực bản sao từ bản chính giấy tờ, văn bản", 1),
    ("HT-KHAISINH", "Đăng ký khai sinh", 3),
    ("HT-XNHONNHAN", "Cấp Giấy xác nhận tình trạng hôn nhân", 5),
]
DEV_NOTE = (
    "CHỈ DÙNG THỬ — DEVELOPMENT ONLY. Khóa, chứng thư và mật khẩu trong thư mục này do motcua "
    "tự tạo để chạy thử; không dùng để ký văn bản thật.\n"
)


def _private_write(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)


def make_dirs() -> None:
    """Create the data directory's folders; the directory itself is the service user's alone."""
    data_dir = Path(settings.DATA_DIR)
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    data_dir.chmod(0o700)  # also an older directory made readable by every local user
    for name in (
        "INBOX_DIR",
        "INTAKE_DIR",
        "WORK_DIR",
        "STORE_DIR",
        "FAILED_DIR",
        "OUTBOX_DIR",
        "RUN_DIR",
        "LOG_DIR",
        "TRUST_DIR",
        "STATIC_ROOT",
    ):
        Path(getattr(settings, name)).mkdir(parents=True, exist_ok=True)


def _private_database() -> None:
    """The SQLite database (personal data, password hashes, sessions) and its journal files:
    readable by the service's user alone, also when an older version made them 0644."""
    database = settings.DATABASES["default"]
    if database["ENGINE"] != "django.db.backends.sqlite3":
        return
    path = Path(database["NAME"])
    for candidate in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
        if candidate.exists():
            candidate.chmod(0o600)


def seed_development() -> Path | None:
    """On an empty database: a demo office, its procedures, accounts and dev signing keys.

    The official gets a PKCS#12 key; the office gets an organisation key whose
    passphrase lives in a file only the service's account reads, ready for
    automatic signing once an administrator adds a policy (none is made here).
    Returns the folder holding the development credentials, or None if the
    database already had offices.
    """
    from signing.devpki import make_dev_pki
    from signing.models import OrganisationKey, Signer

    if Office.objects.exists():
        return None
    dev = Path(settings.PKI_DIR) / "dev"
    dev.mkdir(parents=True, exist_ok=True)
    (dev / "README-DEV-ONLY.txt").write_text(DEV_NOTE, encoding="utf-8")
    passphrase = secrets.token_urlsafe(18)
    _private_write(dev / "DEV-ONLY-signer-passphrase.txt", passphrase + "\n")
    issued = make_dev_pki(
        dev,
        signer_name="Nguyễn Văn An",
        organisation=DEMO_OFFICE[1],
        passphrase=passphrase.encode(),
        development=True,
    )
    shutil.copyfile(issued.ca_cert, Path(settings.TRUST_DIR) / "dev-ca.pem")
    org_passphrase_file = dev / "DEV-ONLY-organisation-passphrase.txt"
    org_passphrase = secrets.token_urlsafe(18)
    _private_write(org_passphrase_file, org_passphrase + "\n")
    organisation = make_dev_pki(
        dev / "to-chuc",
        signer_name=DEMO_OFFICE[1],
        organisation=DEMO_OFFICE[1],
        passphrase=org_passphrase.encode(),
        development=True,
    )
    shutil.copyfile(organisation.ca_cert, Path(settings.TRUST_DIR) / "dev-organisation-ca.pem")
    accounts = {
        "quantri": secrets.token_urlsafe(12),
        "vanthu": secrets.token_urlsafe(12),
        "lanhdao": secrets.token_urlsafe(12),
        "thutruong": secrets.token_urlsafe(12),
    }
    _private_write(
        dev / "DEV-ONLY-accounts.txt",
        DEV_NOTE + "".join(f"{user}\t{pw}\n" for user, pw in accounts.items()),
    )
    with transaction.atomic():
        office = Office.objects.create(code=DEMO_OFFICE[0], name=DEMO_OFFICE[1])
        for code, name, days in DEMO_PROCEDURES:
            Procedure.objects.create(
                office=office,
                code=code,
                name=name,
                limit_working_days=days,
                # a certified copy carries the "bản sao điện tử" stamp its help text promises
                stamp_layout=StampLayout.CERTIFIED_COPY if code == "CT-BANSAO" else "",
            )
        User.objects.create_superuser("quantri", "", accounts["quantri"])
        clerk = User.objects.create_user("vanthu", "", accounts["vanthu"], first_name="Văn thư")
        official = User.objects.create_user(
            "lanhdao", "", accounts["lanhdao"], first_name="Nguyễn Văn An"
        )
        head = User.objects.create_user(
            "thutruong", "", accounts["thutruong"], first_name="Trần Thị Bình"
        )
        Membership.objects.bulk_create(
            [
                Membership(user=clerk, office=office, role=Role.CLERK),
                Membership(user=official, office=office, role=Role.OFFICIAL),
                Membership(user=head, office=office, role=Role.HEAD),
            ]
        )
        Signer.objects.create(
            user=official,
            office=office,
            display_name="Nguyễn Văn An",
            title="Chủ tịch UBND xã",
            pkcs12_path=str(issued.pkcs12),
        )
        OrganisationKey.objects.create(
            office=office,
            pkcs12_path=str(organisation.pkcs12),
            passphrase_file=str(org_passphrase_file),
        )
    (Path(settings.INBOX_DIR) / office.code).mkdir(parents=True, exist_ok=True)
    return dev


def prepare(*, announce: bool = False) -> None:
    """Make the data directory ready: folders, migrations, first-run development data."""
    make_dirs()
    call_command("migrate", interactive=False, verbosity=0)
    _private_database()
    dev = seed_development()
    for office in Office.objects.all():
        (Path(settings.INBOX_DIR) / office.code).mkdir(parents=True, exist_ok=True)
    if announce and dev is not None:
        print(
            "Lần chạy đầu: đã tạo cơ quan mẫu, tài khoản và khóa ký CHỈ DÙNG THỬ trong "
            f"{dev}\n(first run: demo office, accounts and a DEVELOPMENT-ONLY signing key "
            f"in {dev})",
            flush=True,
        )
