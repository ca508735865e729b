"""Tests of approval using the signing configuration: key owner, PAdES level, token, stamp."""

from __future__ import annotations

import logging
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from pyhanko.sign.signers import SimpleSigner

from dossiers.models import Document, DocumentState, Dossier, Procedure
from signing.devpki import IssuedKey
from signing.errors import ApprovalError
from signing.keys.certificates import fingerprint_sha256
from signing.keys.config import TokenConfig
from signing.keys.pkcs11 import open_token
from signing.keys.pkcs12 import load_pkcs12_signer
from signing.models import Batch, BatchItem, KeyKind, OfficeSigningPolicy, Signer
from signing.pades.sign import TSA_DOWN_VI
from signing.services.batch_run import approve_batch
from signing.services.options import stamp_for
from signing.verify.check import verify_pdf
from tests.conftest import DataDirs, MakeAwaiting, MakeDossier, sign_in
from tests.support.pki import TEST_PASSPHRASE, read_stamps
from tests.support.softhsm import (
    SoftToken,
    import_certificate,
    import_private_key,
    softhsm_environment,
)
from tests.support.testpki_services import PkiServices, running_pki_services


def batch_of(document: Document) -> Batch:
    return BatchItem.objects.select_related("batch__office").get(document=document).batch


def signed_bytes(document: Document) -> bytes:
    document.refresh_from_db()
    assert document.state == DocumentState.SIGNED
    return Path(document.signed_path).read_bytes()


# --- the certificate belongs to the approving official ---------------------------------------


def test_a_key_of_someone_else_is_refused_before_any_decision(
    official: User, other_pki: IssuedKey, dossier: Dossier, make_awaiting: MakeAwaiting
) -> None:
    """A key whose certificate names another person approves and signs nothing."""
    document = make_awaiting(dossier)
    batch = batch_of(document)
    stranger_key = load_pkcs12_signer(other_pki.pkcs12, TEST_PASSPHRASE)

    with pytest.raises(ApprovalError, match="không khớp"):
        approve_batch(batch, official, stranger_key)

    document.refresh_from_db()
    batch.refresh_from_db()
    assert document.state == DocumentState.AWAITING_APPROVAL
    assert batch.state == Batch.State.OPEN
    assert BatchItem.objects.get(document=document).decision == BatchItem.Decision.PENDING


def test_a_registered_fingerprint_decides_over_the_name(
    official: User,
    signing_key: SimpleSigner,
    throwaway_pki: IssuedKey,
    other_pki: IssuedKey,
    make_dossier: MakeDossier,
    make_awaiting: MakeAwaiting,
) -> None:
    """With a fingerprint on record, only that certificate signs, whatever the display name."""
    signer = Signer.objects.get(user=official)
    signer.display_name = "Nguyễn Văn An (Chủ tịch)"
    other_cert = load_pkcs12_signer(other_pki.pkcs12, TEST_PASSPHRASE).signing_cert
    assert other_cert is not None
    signer.cert_sha256 = fingerprint_sha256(other_cert)
    signer.save()
    refused = make_awaiting(make_dossier().dossier)
    with pytest.raises(ApprovalError, match="không phải chứng thư đã đăng ký"):
        approve_batch(batch_of(refused), official, signing_key)
    assert Document.objects.get(pk=refused.pk).state == DocumentState.AWAITING_APPROVAL

    assert signing_key.signing_cert is not None
    signer.cert_sha256 = fingerprint_sha256(signing_key.signing_cert).upper()
    signer.save()
    results = approve_batch(batch_of(refused), official, signing_key)

    assert [r.outcome for r in results] == ["signed"]
    report = verify_pdf(signed_bytes(refused), [throwaway_pki.ca_cert])
    assert report.ok, report


def test_the_signing_page_refuses_a_key_that_is_not_the_officials(
    client: Client, official: User, dossier: Dossier, make_awaiting: MakeAwaiting
) -> None:
    """On the web, a certificate of another name shows a Vietnamese error and approves nothing."""
    Signer.objects.filter(user=official).update(display_name="Trần Văn Khác")
    document = make_awaiting(dossier)
    sign_in(client, official)

    response = client.post(
        f"/ky-duyet/{batch_of(document).pk}/",
        {"passphrase": TEST_PASSPHRASE.decode(), "shown": str(document.pk)},
        follow=True,
    )

    page = response.content.decode()
    assert "Tên người ký trong chứng thư số không khớp" in page
    assert TEST_PASSPHRASE.decode() not in page
    assert Document.objects.get(pk=document.pk).state == DocumentState.AWAITING_APPROVAL


def test_signer_configuration_is_checked_in_the_admin_form() -> None:
    """Bad fingerprints and token signers without a module are refused; fingerprints tidied."""
    signer = Signer(display_name="A", key_kind=KeyKind.PKCS11, cert_sha256="12:34")
    with pytest.raises(ValidationError) as info:
        signer.clean()
    assert set(info.value.message_dict) == {"cert_sha256", "pkcs11_module"}
    good = Signer(display_name="A", pkcs12_path="/k.p12", cert_sha256=" AB:" + "cd" * 30 + "ef ")
    good.clean()
    assert good.cert_sha256 == "ab" + "cd" * 30 + "ef"
    with pytest.raises(ValidationError):
        OfficeSigningPolicy(level="B-T").clean()


# --- the office's PAdES level -----------------------------------------------------------------


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PkiServices]:
    with running_pki_services(tmp_path_factory.mktemp("pki-services")) as running:
        yield running


@pytest.fixture(scope="module")
def services_key(services: PkiServices) -> SimpleSigner:
    return load_pkcs12_signer(services.signer_p12, TEST_PASSPHRASE)


def test_an_office_without_a_policy_signs_at_b_b(
    official: User,
    signing_key: SimpleSigner,
    throwaway_pki: IssuedKey,
    dossier: Dossier,
    make_awaiting: MakeAwaiting,
) -> None:
    """With no signing policy row the signature is PAdES B-B, without a timestamp."""
    document = make_awaiting(dossier)
    approve_batch(batch_of(document), official, signing_key)
    (sig,) = verify_pdf(signed_bytes(document), [throwaway_pki.ca_cert]).signatures
    assert sig.pades_level == "B-B" and sig.timestamp_time is None


def test_b_t_office_gets_timestamped_signatures_and_a_tsa_outage_fails_visibly(
    services: PkiServices,
    services_key: SimpleSigner,
    official: User,
    dossier: Dossier,
    make_awaiting: MakeAwaiting,
) -> None:
    """At B-T a TSA outage fails the run with last_error and no lower level; a re-run signs B-T."""
    OfficeSigningPolicy.objects.create(office=dossier.office, level="B-T", tsa_url=services.tsa_url)
    document = make_awaiting(dossier)
    batch = batch_of(document)

    with services.outage("tsa"), pytest.raises(ApprovalError):
        approve_batch(batch, official, services_key)

    batch.refresh_from_db()
    document.refresh_from_db()
    assert TSA_DOWN_VI in batch.last_error
    assert document.state == DocumentState.APPROVED and document.signed_path == ""

    results = approve_batch(batch, official, services_key)

    assert [r.outcome for r in results] == ["signed"]
    report = verify_pdf(signed_bytes(document), [services.trust_root])
    (sig,) = report.signatures
    assert report.ok and sig.pades_level == "B-T" and sig.timestamp_valid
    batch.refresh_from_db()
    assert batch.state == Batch.State.DONE and batch.last_error == ""


def test_b_lt_office_embeds_revocation_data_from_the_trust_folder(
    services: PkiServices,
    services_key: SimpleSigner,
    data_dirs: DataDirs,
    official: User,
    dossier: Dossier,
    make_awaiting: MakeAwaiting,
) -> None:
    """At B-LT the trust roots come from TRUST_DIR and the validation data is embedded."""
    OfficeSigningPolicy.objects.create(
        office=dossier.office, level="B-LT", tsa_url=services.tsa_url
    )
    document = make_awaiting(dossier)
    with pytest.raises(ApprovalError, match="chứng thư gốc tin cậy"):
        approve_batch(batch_of(document), official, services_key)
    shutil.copyfile(services.trust_root, data_dirs.trust / "root.pem")

    approve_batch(batch_of(document), official, services_key)

    (sig,) = verify_pdf(signed_bytes(document), [services.trust_root]).signatures
    assert sig.pades_level == "B-LT" and sig.validation_data_embedded and sig.ok


def test_a_timestamped_level_without_a_tsa_is_refused(
    official: User, signing_key: SimpleSigner, dossier: Dossier, make_awaiting: MakeAwaiting
) -> None:
    """A B-T office with no timestamp authority configured signs nothing rather than B-B."""
    OfficeSigningPolicy.objects.create(office=dossier.office, level="B-T")
    document = make_awaiting(dossier)
    with pytest.raises(ApprovalError, match="máy chủ cấp dấu thời gian"):
        approve_batch(batch_of(document), official, signing_key)
    assert "máy chủ cấp dấu thời gian" in Batch.objects.get(pk=batch_of(document).pk).last_error
    assert Document.objects.get(pk=document.pk).signed_path == ""


# --- keys on a PKCS#11 token ------------------------------------------------------------------


@dataclass(frozen=True)
class OfficialToken:
    token: SoftToken
    key_id: bytes


@pytest.fixture(scope="module")
def official_token(
    tmp_path_factory: pytest.TempPathFactory, throwaway_pki: IssuedKey
) -> Iterator[OfficialToken]:
    with softhsm_environment(tmp_path_factory.mktemp("softhsm")) as hsm:
        token = hsm.create_token(
            "Token Lanh Dao", user_pin=secrets.token_hex(4), so_pin=secrets.token_hex(8)
        )
        key, cert, _chain = pkcs12.load_key_and_certificates(
            throwaway_pki.pkcs12.read_bytes(), TEST_PASSPHRASE
        )
        assert isinstance(key, rsa.RSAPrivateKey) and isinstance(cert, x509.Certificate)
        key_id = secrets.token_bytes(8)
        import_private_key(token, key, key_id=key_id, label="Private Key")
        import_certificate(token, cert, cert_id=key_id, label="Certificate")
        yield OfficialToken(token=token, key_id=key_id)


@pytest.fixture()
def token_official(official: User, official_token: OfficialToken) -> User:
    """The official, switched to the key on the SoftHSM token."""
    Signer.objects.filter(user=official).update(
        key_kind=KeyKind.PKCS11,
        pkcs12_path="",
        pkcs11_module=str(official_token.token.module),
        token_label=official_token.token.label,
    )
    return official


def _token_is_free(official_token: OfficialToken) -> bool:
    config = TokenConfig(
        module_path=official_token.token.module, token_label=official_token.token.label
    )
    with open_token(config, official_token.token.user_pin) as session:
        return not session.closed


def test_approve_command_signs_on_the_token_and_closes_it(
    tmp_path: Path,
    token_official: User,
    official_token: OfficialToken,
    throwaway_pki: IssuedKey,
    dossier: Dossier,
    make_awaiting: MakeAwaiting,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``motcua approve`` logs in with the PIN, signs on the token, and closes the session."""
    caplog.set_level(logging.DEBUG)
    document = make_awaiting(dossier)
    pin_file = tmp_path / "pin.txt"
    pin_file.write_text(official_token.token.user_pin + "\n")

    call_command("approve", str(batch_of(document).pk), "--passphrase-file", str(pin_file))

    assert "đã ký 1" in capsys.readouterr().out
    report = verify_pdf(signed_bytes(document), [throwaway_pki.ca_cert])
    assert report.ok and report.signatures[0].signer == "Nguyễn Văn An"
    assert official_token.token.user_pin not in caplog.text
    assert _token_is_free(official_token)


def test_wrong_pin_on_the_web_signs_nothing_and_a_right_one_signs(
    client: Client,
    token_official: User,
    official_token: OfficialToken,
    throwaway_pki: IssuedKey,
    dossier: Dossier,
    make_awaiting: MakeAwaiting,
) -> None:
    """The review page asks for the token PIN; a wrong PIN leaves the batch, the right one signs."""
    document = make_awaiting(dossier)
    batch = batch_of(document)
    sign_in(client, token_official)
    assert "Mã PIN thiết bị ký số" in client.get(f"/ky-duyet/{batch.pk}/").content.decode()
    wrong = "0" * 8 if official_token.token.user_pin != "0" * 8 else "1" * 8

    client.post(f"/ky-duyet/{batch.pk}/", {"passphrase": wrong, "shown": str(document.pk)})
    assert Document.objects.get(pk=document.pk).state == DocumentState.AWAITING_APPROVAL

    response = client.post(
        f"/ky-duyet/{batch.pk}/",
        {"passphrase": official_token.token.user_pin, "shown": str(document.pk)},
        follow=True,
    )

    assert "Đã ký 1 tài liệu" in response.content.decode()
    assert verify_pdf(signed_bytes(document), [throwaway_pki.ca_cert]).ok
    assert _token_is_free(official_token)


def test_a_token_key_of_another_fingerprint_is_refused(
    tmp_path: Path,
    token_official: User,
    official_token: OfficialToken,
    dossier: Dossier,
    make_awaiting: MakeAwaiting,
) -> None:
    """A token whose key does not match the registered fingerprint approves nothing."""
    Signer.objects.filter(user=token_official).update(cert_sha256="ab" * 32)
    document = make_awaiting(dossier)
    pin_file = tmp_path / "pin.txt"
    pin_file.write_text(official_token.token.user_pin)

    with pytest.raises(CommandError):
        call_command("approve", str(batch_of(document).pk), "--passphrase-file", str(pin_file))

    assert Document.objects.get(pk=document.pk).state == DocumentState.AWAITING_APPROVAL
    assert _token_is_free(official_token)


# --- the procedure's stamp layout -------------------------------------------------------------


def test_certified_copy_procedure_gets_the_certified_copy_stamp_on_the_first_page(
    official: User,
    signing_key: SimpleSigner,
    procedure: Procedure,
    dossier: Dossier,
    make_awaiting: MakeAwaiting,
) -> None:
    """A procedure set to certified copies stamps them with that layout, top of page one."""
    Procedure.objects.filter(pk=procedure.pk).update(stamp_layout="certified_copy")
    document = make_awaiting(dossier)
    batch = batch_of(document)
    assert stamp_for(Signer.objects.get(user=official), batch).layout == "certified_copy"

    approve_batch(batch, official, signing_key)

    (stamp,) = read_stamps(signed_bytes(document))
    assert stamp.page == 0
    assert "Bản sao điện tử từ bản chính" in stamp.text


def test_a_personal_layout_needs_the_signers_signature_image(
    official: User,
    signing_key: SimpleSigner,
    procedure: Procedure,
    dossier: Dossier,
    make_awaiting: MakeAwaiting,
) -> None:
    """A procedure requiring the personal stamp refuses a signer without a signature image."""
    Procedure.objects.filter(pk=procedure.pk).update(stamp_layout="personal")
    document = make_awaiting(dossier)
    with pytest.raises(ApprovalError, match="chưa có ảnh chữ ký"):
        approve_batch(batch_of(document), official, signing_key)
    assert Document.objects.get(pk=document.pk).signed_path == ""
