"""Fixtures for sign-in tests: an official with a password, codes from their authenticator."""

from __future__ import annotations

import time

import pytest
from django.contrib.auth.models import User
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.conftest import DataDirs

PASSWORD = "Mat-khau-dung-1"
OFFICIAL_ADDRESS = "10.20.0.7"
ATTACKER_ADDRESS = "203.0.113.66"


def code(device: TOTPDevice, steps_ahead: int = 0) -> str:
    """The code the person's authenticator shows now (or ``steps_ahead`` periods later)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps_ahead * device.step
    return f"{totp.token():0{device.digits}d}"


@pytest.fixture(autouse=True)
def private_data(data_dirs: DataDirs) -> DataDirs:
    """Every sign-in test serves pages from a throwaway data directory."""
    return data_dirs


@pytest.fixture()
def official_with_password(official: User) -> User:
    """The signing official of ``office``, with a real password."""
    official.set_password(PASSWORD)
    official.save()
    return official


@pytest.fixture()
def clerk_with_password(clerk: User) -> User:
    clerk.set_password(PASSWORD)
    clerk.save()
    return clerk


@pytest.fixture()
def authenticator(official_with_password: User) -> TOTPDevice:
    """The official's confirmed authenticator app."""
    return TOTPDevice.objects.create(user=official_with_password, name="app", confirmed=True)
