"""Per-procedure stamp place in the admin: page and box, refused when it cannot fit A4."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from dossiers.models import Office, Procedure
from tests.conftest import DataDirs, sign_in


def configured(procedure: Procedure, **values: object) -> Procedure:
    for name, value in values.items():
        setattr(procedure, name, value)
    return procedure


def errors_of(procedure: Procedure) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as info:
        procedure.full_clean()
    return info.value.message_dict


def test_nothing_configured_is_valid_and_has_no_box(procedure: Procedure) -> None:
    """A procedure without a stamp place is valid: the layout's own place applies."""
    procedure.full_clean()
    assert procedure.stamp_box_mm is None


def test_a_page_number_needs_the_number_choice_and_back(procedure: Procedure) -> None:
    """A page number needs the “page number” choice, and that choice needs a number."""
    assert "stamp_page_number" in errors_of(configured(procedure, stamp_page="number"))
    assert "stamp_page_number" in errors_of(
        configured(procedure, stamp_page="last", stamp_page_number=2)
    )
    configured(procedure, stamp_page="number", stamp_page_number=2).full_clean()


def test_a_box_is_all_four_values_from_a_chosen_corner(procedure: Procedure) -> None:
    """Half a box is refused, and so is a box without the corner it is measured from."""
    partial = errors_of(configured(procedure, stamp_x_mm=Decimal(10), stamp_width_mm=Decimal(80)))
    assert "bốn ô" in partial["stamp_width_mm"][0]
    box = {
        "stamp_x_mm": Decimal(10),
        "stamp_y_mm": Decimal(10),
        "stamp_width_mm": Decimal(80),
        "stamp_height_mm": Decimal(25),
    }
    assert "stamp_corner" in errors_of(configured(procedure, **box))
    configured(procedure, stamp_corner="top-left").full_clean()
    assert procedure.stamp_box_mm == (Decimal(10), Decimal(10), Decimal(80), Decimal(25))


def test_a_box_that_leaves_an_a4_page_is_refused_in_vietnamese(procedure: Procedure) -> None:
    """A box wider or taller than A4 allows from its corner says which way it overflows."""
    message = errors_of(
        configured(
            procedure,
            stamp_corner="bottom-right",
            stamp_x_mm=Decimal("150.5"),
            stamp_y_mm=Decimal(10),
            stamp_width_mm=Decimal(80),
            stamp_height_mm=Decimal(25),
        )
    )["stamp_width_mm"][0]
    assert message == (
        "Ô chữ ký không vừa trang A4 (210 × 297 mm): cách mép 150,5 + rộng 80 = 230,5 mm > 210 mm."
    )
    too_small = errors_of(configured(procedure, stamp_x_mm=Decimal(10), stamp_width_mm=Decimal(20)))
    assert "nhỏ nhất 40 × 15 mm" in too_small["stamp_width_mm"][0]


def test_the_admin_form_refuses_a_box_off_the_page(
    client: Client, data_dirs: DataDirs, office: Office, procedure: Procedure
) -> None:
    """The procedure's admin page shows the Vietnamese refusal and keeps the old place."""
    sign_in(client, User.objects.create_superuser("quantri-test", "qt@example.vn", "x"))
    url = reverse("admin:dossiers_procedure_change", args=[procedure.pk])
    form = {
        "office": office.pk,
        "code": procedure.code,
        "name": procedure.name,
        "limit_working_days": procedure.limit_working_days,
        "field": "",
        "colour_mode": "auto",
        "stamp_layout": "",
        "stamp_page": "first",
        "stamp_page_number": "",
        "stamp_corner": "top-left",
        "stamp_x_mm": "20",
        "stamp_y_mm": "280",
        "stamp_width_mm": "80",
        "stamp_height_mm": "25",
    }

    refused = client.post(url, form)

    assert refused.status_code == 200
    assert "cách mép 280 + cao 25 = 305 mm &gt; 297 mm" in refused.content.decode()
    procedure.refresh_from_db()
    assert procedure.stamp_page == "" and procedure.stamp_box_mm is None

    accepted = client.post(url, {**form, "stamp_y_mm": "15"})

    assert accepted.status_code == 302
    procedure.refresh_from_db()
    assert procedure.stamp_page == "first"
    assert procedure.stamp_box_mm == (Decimal(20), Decimal(15), Decimal(80), Decimal(25))
