"""The accounts application: sign-in pages, the second factor and session rules."""

from __future__ import annotations

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Đăng nhập"

    def ready(self) -> None:
        """Keep django-otp's device pages (English, and a way to read TOTP keys) out of the
        admin: a lost phone is handled by the users' reset action, enrolment by the person.

        The admin has imported every application's admin module by now (its own ready()
        runs first, being earlier in INSTALLED_APPS).
        """
        from django.contrib import admin
        from django_otp.plugins.otp_static.models import StaticDevice
        from django_otp.plugins.otp_totp.models import TOTPDevice

        for model in (TOTPDevice, StaticDevice):
            if admin.site.is_registered(model):
                admin.site.unregister(model)
