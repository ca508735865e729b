"""Citizens' ratings: the signed link, one rating per dossier, and the satisfaction figures."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone

from dossiers.models import Dossier
from publishing.models import Rating

__all__ = [
    "RATING_VALID",
    "RatingLinkError",
    "Satisfaction",
    "dossier_for",
    "rating_link",
    "rating_token",
    "record_rating",
    "satisfaction",
]

RATING_VALID = timedelta(days=30)
"""How long a rating link works, counted from the dossier's resolution."""

RATING_SALT = "publishing.rating"
"""Keeps rating tokens apart from every other signature made with the secret key."""

SIGNATURE_CHARS = 16
"""Characters of the HMAC kept in a token (96 bits): the link must fit in one SMS."""


class RatingLinkError(Exception):
    """A rating link that is forged, damaged, expired or names no dossier (Vietnamese message)."""


class _RatingSigner(signing.TimestampSigner):
    """``TimestampSigner`` dated at the dossier's resolution, with a shortened signature.

    Dating the token at the resolution makes the link the same in the email, the SMS
    and every retry of them, and lets it expire ``RATING_VALID`` after the result.
    """

    def __init__(self, issued_at: datetime | None = None) -> None:
        super().__init__(salt=RATING_SALT)
        self._issued_at = issued_at

    def timestamp(self) -> str:
        if self._issued_at is None:
            return super().timestamp()
        return signing.b62_encode(int(self._issued_at.timestamp()))

    def signature(self, value: str | bytes, key: str | bytes | None = None) -> str:
        return super().signature(value, key)[:SIGNATURE_CHARS]


def rating_token(dossier: Dossier) -> str:
    """The signed token naming ``dossier`` (its id only), dated at its resolution."""
    if dossier.resolved_at is None:
        raise ValueError("a dossier without a result cannot be rated")
    return _RatingSigner(dossier.resolved_at).sign(str(dossier.pk))


def rating_link(dossier: Dossier, *, now: datetime | None = None) -> str | None:
    """The public link to rate ``dossier``, or None before its result or once it expired."""
    if dossier.resolved_at is None:
        return None
    if (now or timezone.now()) - dossier.resolved_at > RATING_VALID:
        return None
    path = reverse("rating", kwargs={"token": rating_token(dossier)})
    return f"{settings.PUBLIC_BASE_URL}{path}"


def dossier_for(token: str) -> Dossier:
    """The dossier a rating token names; ``RatingLinkError`` when forged or expired."""
    try:
        value = _RatingSigner().unsign(token, max_age=RATING_VALID)
    except signing.SignatureExpired:
        raise RatingLinkError(
            f"Đường dẫn đánh giá đã hết hạn (chỉ dùng trong {RATING_VALID.days} ngày "
            "kể từ khi có kết quả)."
        ) from None
    except signing.BadSignature:
        raise RatingLinkError("Đường dẫn đánh giá không đúng.") from None
    dossier = (
        Dossier.objects.select_related("office", "procedure")
        .filter(pk=int(value), resolved_at__isnull=False)
        .first()
        if value.isdigit()
        else None
    )
    if dossier is None:
        raise RatingLinkError("Đường dẫn đánh giá không đúng.")
    return dossier


def record_rating(dossier: Dossier, score: str, comment: str) -> tuple[Rating, bool]:
    """Record the dossier's one rating; ``(the rating recorded, whether it is this one)``."""
    try:
        with transaction.atomic():
            rating = Rating.objects.create(dossier=dossier, score=score, comment=comment.strip())
    except IntegrityError:
        return Rating.objects.get(dossier=dossier), False
    return rating, True


@dataclass(frozen=True)
class Satisfaction:
    """Ratings of a period and the share of citizens satisfied."""

    very_satisfied: int
    """Ratings "rất hài lòng"."""

    satisfied: int
    """Ratings "hài lòng"."""

    unsatisfied: int
    """Ratings "không hài lòng"."""

    @property
    def total(self) -> int:
        """All ratings counted."""
        return self.very_satisfied + self.satisfied + self.unsatisfied

    @property
    def rate(self) -> float | None:
        """Share of ratings "rất hài lòng" or "hài lòng" (0 to 1), None without ratings."""
        return (self.very_satisfied + self.satisfied) / self.total if self.total else None


def satisfaction(office_ids: Iterable[int], start: datetime, end: datetime) -> Satisfaction:
    """The ratings given from ``start`` (included) to ``end`` (excluded) for dossiers of the
    offices, counted in one aggregate query."""
    Score = Rating.Score
    counts = Rating.objects.filter(
        dossier__office_id__in=list(office_ids), created_at__gte=start, created_at__lt=end
    ).aggregate(
        very_satisfied=Count("pk", filter=Q(score=Score.VERY_SATISFIED)),
        satisfied=Count("pk", filter=Q(score=Score.SATISFIED)),
        unsatisfied=Count("pk", filter=Q(score=Score.UNSATISFIED)),
    )
    return Satisfaction(**{name: int(value or 0) for name, value in counts.items()})
