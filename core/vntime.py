"""Vietnam time: the Asia/Ho_Chi_Minh zone and the way times are shown to people."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["VN_TZ", "format_vn_date", "format_vn_datetime", "now_vn", "to_vn"]


def _load_zone() -> dt.tzinfo:
    try:
        return ZoneInfo("Asia/Ho_Chi_Minh")
    except ZoneInfoNotFoundError:  # pragma: no cover - systems without tzdata
        # Vietnam has kept UTC+7 without daylight saving time since 1975.
        return dt.timezone(dt.timedelta(hours=7), "ICT")


VN_TZ: dt.tzinfo = _load_zone()
"""Time zone used whenever a time is shown (times are stored in UTC)."""


def now_vn() -> dt.datetime:
    """Return the current time, aware, in Vietnam's zone."""
    return dt.datetime.now(VN_TZ)


def to_vn(moment: dt.datetime) -> dt.datetime:
    """Return ``moment`` in Vietnam's zone; a naive value is taken to be UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(VN_TZ)


def format_vn_datetime(moment: dt.datetime) -> str:
    """Format ``moment`` as ``22/11/2026 14:05:03`` in Vietnam time."""
    return to_vn(moment).strftime("%d/%m/%Y %H:%M:%S")


def format_vn_date(moment: dt.datetime) -> str:
    """Format ``moment`` as ``22/11/2026`` in Vietnam time."""
    return to_vn(moment).strftime("%d/%m/%Y")
