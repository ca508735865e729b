"""What the trail hears by itself: sign-in and sign-out, and configuration changed in the admin."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, cast

from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry, LogEntryManager
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.contrib.contenttypes.models import ContentType
from django.db.models.signals import post_save
from django.http import HttpRequest

from audit.models import Action
from audit.services.record import record

__all__ = ["admin_change_detail", "connect"]

ADMIN_ACTIONS = {ADDITION: "added", CHANGE: "changed", DELETION: "deleted"}

_AUDITED = "_audit_recorded"
"""Attribute set on a LogEntry once its entry is recorded (never twice)."""


def signed_in(sender: object, request: HttpRequest, user: AbstractBaseUser, **_: Any) -> None:
    """A successful sign-in, by whom and from where."""
    record(Action.SIGNED_IN, actor=user, request=request)


def signed_out(
    sender: object, request: HttpRequest, user: AbstractBaseUser | None, **_: Any
) -> None:
    """A sign-out (the user is None when the session had expired)."""
    if user is not None:
        record(Action.SIGNED_OUT, actor=user, request=request)


def sign_in_failed(
    sender: object,
    credentials: dict[str, Any],
    request: HttpRequest | None = None,
    **_: Any,
) -> None:
    """A failed sign-in: only the username tried and the address; never the password."""
    tried = str(credentials.get("username", "")).strip()
    record(Action.SIGN_IN_FAILED, request=request, username=tried or "?")


def admin_change_detail(entry: LogEntry) -> dict[str, Any]:
    """What an admin LogEntry says was done: added, changed (which fields) or deleted.

    Field names and the kinds of related rows are kept; the text of objects is not (it
    may hold personal data).
    """
    detail: dict[str, Any] = {"admin": ADMIN_ACTIONS.get(entry.action_flag, "other")}
    fields: list[str] = []
    related: list[str] = []
    try:
        messages = json.loads(entry.change_message or "[]")
    except ValueError:
        messages = []
    for message in messages if isinstance(messages, list) else []:
        for part in message.values() if isinstance(message, dict) else []:
            if isinstance(part, dict):
                fields.extend(str(f) for f in part.get("fields", []))
                if part.get("name"):
                    related.append(str(part["name"]))
    if fields:
        detail["fields"] = sorted(set(fields))
    if related:
        detail["related"] = sorted(set(related))
    return detail


def _admin_entry(entry: LogEntry) -> None:
    """Record a configuration change that the admin logged."""
    if getattr(entry, _AUDITED, False):
        return
    setattr(entry, _AUDITED, True)
    # django-stubs leave LogEntry's foreign keys untyped
    content_type = cast("ContentType | None", entry.content_type)
    record(
        Action.CONFIG_CHANGED,
        actor=cast(AbstractBaseUser, entry.user),
        detail={
            **admin_change_detail(entry),
            "model": f"{content_type.app_label}.{content_type.model}" if content_type else "",
            # bulk-created lines keep the pk as given (a number), saved ones as text
            "id": "" if entry.object_id is None else str(entry.object_id),
        },
    )


def admin_logged(sender: type[LogEntry], instance: LogEntry, created: bool, **_: Any) -> None:
    """Receiver of LogEntry's post_save: each new admin log line is an audit entry."""
    if created:
        _admin_entry(instance)


def _audit_bulk_log_actions() -> None:
    """Record the admin log lines Django writes with ``bulk_create`` (no post_save is sent).

    ``LogEntryManager.log_actions`` saves one line one by one (the signal hears it), but
    several at once (the "delete selected" action) in bulk; those are recorded here.
    """
    original = LogEntryManager.log_actions
    if getattr(original, _AUDITED, False):
        return

    def log_actions(self: LogEntryManager, *args: Any, **kwargs: Any) -> Any:
        result = original(self, *args, **kwargs)
        if isinstance(result, list):
            entries: Iterable[LogEntry] = result
            for entry in entries:
                _admin_entry(entry)
        return result

    setattr(log_actions, _AUDITED, True)
    LogEntryManager.log_actions = log_actions  # type: ignore[method-assign]


def connect() -> None:
    """Connect the receivers (from ``AuditConfig.ready``)."""
    user_logged_in.connect(signed_in, dispatch_uid="audit.signed_in")
    user_logged_out.connect(signed_out, dispatch_uid="audit.signed_out")
    user_login_failed.connect(sign_in_failed, dispatch_uid="audit.sign_in_failed")
    post_save.connect(admin_logged, sender=LogEntry, dispatch_uid="audit.admin_logged")
    _audit_bulk_log_actions()
