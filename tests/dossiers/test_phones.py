"""Vietnamese phone numbers at registration: mobile, landline, +84; anything else refused."""

from __future__ import annotations

import pytest

from dossiers.errors import RegistrationError
from dossiers.models import Office, Procedure
from dossiers.phones import normalise_phone
from dossiers.services.registry import register_dossier


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("0912345678", "0912345678"),
        ("0312 345 678", "0312345678"),
        ("056.123.4567", "0561234567"),
        ("0701-234-567", "0701234567"),
        ("0881234567", "0881234567"),
        ("+84 912 345 678", "0912345678"),
        ("+84912345678", "0912345678"),
        ("0084 91 234 5678", "0912345678"),
        ("+84 (0) 912 345 678", "0912345678"),
        ("024 3825 1234", "02438251234"),
        ("(0236) 382 1234", "02363821234"),
        ("+84 24 3825 1234", "02438251234"),
        ("", ""),
        ("   ", ""),
    ],
)
def test_valid_numbers_are_stored_in_national_form(typed: str, stored: str) -> None:
    assert normalise_phone(typed) == stored


@pytest.mark.parametrize(
    "typed",
    [
        "abc",
        "091234567",  # 9 digits
        "09123456789",  # 11 digits for a mobile
        "0112345678",  # 01x is no mobile prefix
        "0412345678",
        "0612345678",
        "0243825123",  # a landline needs 11 digits
        "+1 650 253 0000",
        "+84 12 345 678",
        "09l2345678",  # a letter l among the digits
        "0912345678 ext 2",
    ],
)
def test_other_text_is_refused_in_vietnamese(typed: str) -> None:
    with pytest.raises(RegistrationError) as info:
        normalise_phone(typed)
    assert "Số điện thoại" in info.value.message_vi
    assert "không hợp lệ" in info.value.message_vi


def test_registration_normalises_the_phone_and_checks_the_email(
    office: Office, procedure: Procedure
) -> None:
    """The service itself checks: an import or the API cannot store "abc" either."""
    registered = register_dossier(
        code="HS-DT-1",
        office=office,
        procedure=procedure,
        applicant_name="Mai Văn Tú",
        phone="+84 98 765 4321",
        email="tu@example.vn",
    )
    assert registered.dossier.phone == "0987654321"
    with pytest.raises(RegistrationError, match="Số điện thoại 'abc' không hợp lệ"):
        register_dossier(
            code="HS-DT-2", office=office, procedure=procedure, applicant_name="A", phone="abc"
        )
    with pytest.raises(RegistrationError, match="Thư điện tử 'tu@' không hợp lệ"):
        register_dossier(
            code="HS-DT-3", office=office, procedure=procedure, applicant_name="A", email="tu@"
        )
