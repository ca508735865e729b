"""Wrong passphrases and PINs per signer: after the limit the key is not tried at all (the
token's C_Login is never called, so its PIN counter is never spent), the wait is told in
Vietnamese, and a right secret after the wait works and forgets the count."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from unittest import mock

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import timezone

import signing.keys.pkcs11 as pkcs11_module
import signing.services.approval as approval
from dossiers.models import Document, DocumentState, Dossier
from signing.devpki import IssuedKey
from signing.errors import KeyUnlockError
from signing.models import Batch, BatchItem, KeyKind, Signer
from signing.services.approval import unlock_key
from signing.services.unlock_throttle import UnlockRefused, failures
from tests.conftest import MakeAwaiting, sign_in
from tests.support.pki import TEST_PASSPHRASE
from tests.support.softhsm import (
    SoftToken,
    import_certificate,
    import_private_key,
    softhsm_environment,
)


def _later(minutes: float) -> mock._patch[mock.MagicMock]:
    """Pretend ``minutes`` have passed, for the throttle's clock."""
    moment = timezone.now() + timedelta(minutes=minutes)
    return mock.patch("signing.services.unlock_throttle.timezone.now", return_value=moment)


def _batch_of(document: Document) -> Batch:
    return BatchItem.objects.get(document=document).batch


def test_five_wrong_passphrases_close_the_key_file_for_a_while(official: User) -> None:
    """The fifth wrong passphrase says when to retry; until then even the right one is
    refused without the key file being decrypted; after the wait it opens and resets."""
    signer = Signer.objects.get(user=official)
    for _ in range(4):
        with pytest.raises(KeyUnlockError) as wrong:
            unlock_key(signer, b"sai-mat-khau")
        assert not isinstance(wrong.value, UnlockRefused)
    with pytest.raises(UnlockRefused) as closed:
        unlock_key(signer, b"sai-mat-khau")
    assert "5 lần" in closed.value.message_vi and "thử lại sau" in closed.value.message_vi
    assert "sai-mat-khau" not in closed.value.message_vi

    opener = approval.load_pkcs12_signer  # type: ignore[attr-defined]
    with mock.patch.object(approval, "load_pkcs12_signer", wraps=opener) as spy:
        with pytest.raises(UnlockRefused):
            unlock_key(signer, TEST_PASSPHRASE)
        assert spy.call_count == 0
        with _later(16):
            unlock_key(signer, TEST_PASSPHRASE).close()
        assert spy.call_count == 1
    assert failures(signer) == 0


def test_each_wrong_passphrase_after_the_wait_doubles_it(official: User) -> None:
    """One attempt after the wait; wrong again, the next wait is twice as long."""
    signer = Signer.objects.get(user=official)
    for _ in range(5):
        with pytest.raises(KeyUnlockError):
            unlock_key(signer, b"sai")
    with _later(16), pytest.raises(UnlockRefused):
        unlock_key(signer, b"sai-lan-sau")  # the sixth, after the first wait: closes for 30
    with _later(16 + 20), pytest.raises(UnlockRefused) as still:
        unlock_key(signer, TEST_PASSPHRASE)
    assert "6 lần" in still.value.message_vi
    with _later(16 + 31):
        unlock_key(signer, TEST_PASSPHRASE).close()


def test_the_signing_page_and_the_command_share_the_count(
    client: Client, official: User, dossier: Dossier, make_awaiting: MakeAwaiting, tmp_path: Path
) -> None:
    """Guesses on the web page and with ``motcua approve`` count together; once closed,
    both refuse the right passphrase and sign nothing."""
    document = make_awaiting(dossier)
    batch = _batch_of(document)
    sign_in(client, official)
    wrong_file = tmp_path / "sai.txt"
    wrong_file.write_text("doan-nua\n")
    wrong_file.chmod(0o600)
    with pytest.raises(CommandError) as wrong:
        call_command("approve", str(batch.pk), "--passphrase-file", str(wrong_file))
    assert wrong.value.returncode == 3  # a person must fix it: the passphrase
    for _ in range(3):
        client.post(f"/ky-duyet/{batch.pk}/", {"passphrase": "doan-thu"})
    with pytest.raises(CommandError) as closing:
        call_command("approve", str(batch.pk), "--passphrase-file", str(wrong_file))
    assert closing.value.returncode == 75  # the fifth wrong guess closes the key for a while

    response = client.post(
        f"/ky-duyet/{batch.pk}/", {"passphrase": TEST_PASSPHRASE.decode()}, follow=True
    )
    assert "thử lại sau" in response.content.decode()
    right_file = tmp_path / "dung.txt"
    right_file.write_bytes(TEST_PASSPHRASE + b"\n")
    right_file.chmod(0o600)
    with pytest.raises(CommandError, match="thử lại sau") as closed:
        call_command("approve", str(batch.pk), "--passphrase-file", str(right_file))
    assert closed.value.returncode == 75  # try again later: the wait ends by itself
    with pytest.raises(CommandError) as unknown:
        call_command("approve", "999999", "--passphrase-file", str(right_file))
    assert unknown.value.returncode == 2  # bad input: no such batch
    assert Document.objects.get(pk=document.pk).state == DocumentState.AWAITING_APPROVAL


# --- a key on a hardware token (SoftHSM) ----------------------------------------------------


@pytest.fixture(scope="module")
def soft_token(
    tmp_path_factory: pytest.TempPathFactory, throwaway_pki: IssuedKey
) -> Iterator[SoftToken]:
    """The official's key and certificate on a SoftHSM token."""
    with softhsm_environment(tmp_path_factory.mktemp("softhsm")) as hsm:
        token = hsm.create_token(
            "Token Ky Duyet", user_pin=secrets.token_hex(4), so_pin=secrets.token_hex(8)
        )
        key, cert, _chain = pkcs12.load_key_and_certificates(
            throwaway_pki.pkcs12.read_bytes(), TEST_PASSPHRASE
        )
        assert isinstance(key, rsa.RSAPrivateKey) and isinstance(cert, x509.Certificate)
        key_id = secrets.token_bytes(8)
        import_private_key(token, key, key_id=key_id, label="Private Key")
        import_certificate(token, cert, cert_id=key_id, label="Certificate")
        yield token


def test_wrong_pins_never_reach_the_tokens_login_once_closed(
    official: User, soft_token: SoftToken
) -> None:
    """Three wrong PINs close the signer; then the token's login (C_Login) is not called,
    not even with the right PIN, until the wait is over."""
    Signer.objects.filter(user=official).update(
        key_kind=KeyKind.PKCS11,
        pkcs12_path="",
        pkcs11_module=str(soft_token.module),
        token_label=soft_token.label,
    )
    signer = Signer.objects.get(user=official)
    wrong = "0" * 8 if soft_token.user_pin != "0" * 8 else "1" * 8
    with mock.patch.object(pkcs11_module, "_login", wraps=pkcs11_module._login) as login:
        for _ in range(2):
            with pytest.raises(KeyUnlockError):
                unlock_key(signer, wrong.encode())
        with pytest.raises(UnlockRefused) as closed:
            unlock_key(signer, wrong.encode())
        assert login.call_count == 3
        assert "mã PIN thiết bị ký số 3 lần" in closed.value.message_vi
        assert "không bị khóa" in closed.value.message_vi

        for pin in (wrong, soft_token.user_pin, wrong):
            with pytest.raises(UnlockRefused):
                unlock_key(signer, pin.encode())
        assert login.call_count == 3  # the token's PIN counter was not touched again

        with _later(16):
            unlock_key(signer, soft_token.user_pin.encode()).close()
        assert login.call_count == 4
    assert failures(signer) == 0
