"""The steps of a dossier's life a person may take from its page, by role and state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from backoffice.services.letter_page import LetterRow, dossier_letters
from backoffice.services.people import Person
from core.vntime import to_vn
from dossiers.models import Dossier, DossierStep, Office, Role, StepKind
from dossiers.services import life
from dossiers.services.access import check_role, has_role
from dossiers.services.life_letters import (
    refuse_with_letter,
    request_supplement_with_letter,
    stop_with_letter,
)

__all__ = [
    "ACTIONS",
    "ActionData",
    "LifeAction",
    "LifeView",
    "allowed_actions",
    "check_action",
    "holding_office",
    "life_view",
    "perform",
    "transfer_targets",
]

S = Dossier.Status


@dataclass(frozen=True)
class LifeAction:
    """One step a person may take on a dossier from its page."""

    name: str
    """Its slug in the address (``/ho-so/<code>/thao-tac/<name>/``)."""

    roles: tuple[Role, ...]
    """Who may take it, in the dossier's office."""

    states: tuple[str, ...]
    """The dossier states it applies to (the life services refuse the others)."""

    confirm: bool = False
    """It cannot be undone: the form asks the person to confirm."""

    holder_may: bool = False
    """The office holding the dossier on a transfer may take it too (hand it back)."""


ACTIONS: dict[str, LifeAction] = {
    action.name: action
    for action in (
        LifeAction("bo-sung", (Role.CLERK,), (S.RECEIVED, S.PROCESSING)),
        LifeAction("du-giay-to", (Role.CLERK,), (S.SUPPLEMENT,)),
        LifeAction("lien-thong", (Role.CLERK,), (S.RECEIVED, S.PROCESSING)),
        LifeAction("nhan-lai", (Role.CLERK,), (S.TRANSFERRED,), holder_may=True),
        LifeAction(
            "tra-cong-dan",
            (Role.CLERK,),
            (S.RESOLVED, S.REFUSED, S.STOPPED, S.WITHDRAWN),
            confirm=True,
        ),
        LifeAction("rut", (Role.CLERK,), life.OPEN, confirm=True),
        LifeAction("dung", (Role.CLERK,), life.OPEN, confirm=True),
        LifeAction("tu-choi", (Role.HEAD,), life.OPEN, confirm=True),
    )
}
"""Every action of the dossier page: supplement, papers complete, transfer and back, return,
withdrawal, stop (the desk) and refusal (the head)."""


@dataclass(frozen=True)
class ActionData:
    """What the person typed or chose for an action (checked by the view's form)."""

    reason: str = ""
    office: Office | None = None
    days: int = 0


def holding_office(dossier: Dossier) -> int | None:
    """The office holding the dossier on a transfer now, if any."""
    return (
        DossierStep.objects.filter(dossier=dossier, kind=StepKind.TRANSFER, ended_at__isnull=True)
        .values_list("office_id", flat=True)
        .first()
    )


def _may(user: Person, dossier: Dossier, action: LifeAction, holder: int | None) -> bool:
    if has_role(user, *action.roles, office=dossier.office_id):
        return True
    return action.holder_may and holder is not None and has_role(user, *action.roles, office=holder)


def check_action(user: Person, dossier: Dossier, action: LifeAction) -> None:
    """Raise PermissionDenied unless the person holds the action's role for this dossier."""
    if not _may(user, dossier, action, holding_office(dossier)):
        check_role(user, *action.roles, office=dossier.office_id)


def allowed_actions(user: Person, dossier: Dossier) -> frozenset[str]:
    """The actions the person may take on the dossier in its present state."""
    holder = holding_office(dossier) if dossier.status == S.TRANSFERRED else None
    return frozenset(
        action.name
        for action in ACTIONS.values()
        if dossier.status in action.states and _may(user, dossier, action, holder)
    )


def transfer_targets(dossier: Dossier) -> list[Office]:
    """The offices a dossier may be transferred to: every other one, by name."""
    return list(Office.objects.exclude(pk=dossier.office_id).order_by("name"))


def _local(moment: datetime) -> str:
    return to_vn(moment).strftime("%H:%M %d/%m/%Y")


def perform(action: LifeAction, dossier: Dossier, user: Person, data: ActionData) -> str:
    """Take ``action`` (already checked with :func:`check_action`); the message to show.

    Raises :class:`dossiers.errors.LifeError` when the dossier's state does not allow it.
    """
    code = dossier.code
    if action.name == "bo-sung":
        request_supplement_with_letter(dossier, data.reason, user=user)
        return _(
            "Đã yêu cầu bổ sung hồ sơ %(code)s và tạm dừng tính thời hạn; phiếu yêu cầu bổ "
            "sung (mẫu 02) đã được soạn, chờ thủ trưởng ký."
        ) % {"code": code}
    if action.name == "du-giay-to":
        due = life.complete_papers(dossier, user=user)
        return _("Đã nhận đủ giấy tờ; thời hạn tính tiếp, hẹn trả kết quả lúc %(due)s.") % {
            "due": _local(due)
        }
    if action.name == "lien-thong":
        if data.office is None:
            raise PermissionDenied
        life.transfer(dossier, data.office, days=data.days, reason=data.reason, user=user)
        return _("Đã chuyển hồ sơ %(code)s sang %(office)s.") % {
            "code": code,
            "office": data.office.name,
        }
    if action.name == "nhan-lai":
        life.transfer_back(dossier, note=data.reason, user=user)
        return _("Hồ sơ %(code)s đã được chuyển trả về cơ quan giải quyết.") % {"code": code}
    if action.name == "tra-cong-dan":
        life.return_to_citizen(dossier, user=user)
        return _("Đã ghi nhận trả hồ sơ %(code)s cho công dân.") % {"code": code}
    if action.name == "rut":
        life.end_dossier(dossier, S.WITHDRAWN, data.reason, user=user)
        return _("Đã ghi nhận công dân rút hồ sơ %(code)s.") % {"code": code}
    if action.name == "dung":
        stop_with_letter(dossier, data.reason, user=user)
        return _(
            "Đã dừng giải quyết hồ sơ %(code)s; thông báo dừng (mẫu 05) đã được soạn, chờ "
            "thủ trưởng ký."
        ) % {"code": code}
    refuse_with_letter(dossier, data.reason, user=user)
    return _(
        "Đã từ chối giải quyết hồ sơ %(code)s; phiếu từ chối (mẫu 03) đã được soạn, hãy "
        "xem lại và ký."
    ) % {"code": code}


@dataclass(frozen=True)
class LifeView:
    """The dossier page's actions, letters and transfer, for one person."""

    actions: frozenset[str]
    """The names of :data:`ACTIONS` the person may take now."""

    letters: list[LetterRow]
    heads: bool
    """The person heads the dossier's office: they review and sign its letters."""

    holder: Office | None
    """The office holding the dossier on a transfer now."""


def life_view(user: Person, dossier: Dossier) -> LifeView:
    """What the dossier's page offers ``user`` (who found it through their scope)."""
    actions = allowed_actions(user, dossier)
    holder = holding_office(dossier) if dossier.status == S.TRANSFERRED else None
    return LifeView(
        actions=actions,
        letters=dossier_letters(dossier),
        heads=has_role(user, Role.HEAD, office=dossier.office_id),
        holder=Office.objects.filter(pk=holder).first() if holder is not None else None,
    )
