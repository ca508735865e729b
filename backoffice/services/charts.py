"""Charts drawn on the server as inline SVG: the on-time rate by month and by field.

Only geometry is worked out here (numbers already formatted, so no locale turns a decimal
point into a comma inside an SVG attribute); the templates draw the shapes, and the page's
nonce'd stylesheet colours them. No JavaScript, nothing fetched.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.formats import number_format
from django.utils.translation import gettext as _

from backoffice.services.periods import Period
from backoffice.services.statistics import MonthPoint
from backoffice.services.statistics_report import Line

__all__ = [
    "FAIR",
    "GOOD",
    "Bar",
    "Chart",
    "GridLine",
    "field_chart",
    "month_chart",
    "percent",
    "tone",
]

GOOD = 95.0
"""An on-time rate from here up is drawn green."""

FAIR = 80.0
"""From here up to :data:`GOOD`, amber; below, red."""

WIDTH = 360
"""Every chart's viewBox is this wide: it scales to the column, 360 px on a phone."""


LABEL_MAX = 50
"""Longest field name written beside its bar; a longer one is cut (the tooltip has it whole)."""


def _n(value: float) -> str:
    return f"{value:.1f}"


def _short(label: str) -> str:
    return label if len(label) <= LABEL_MAX else f"{label[: LABEL_MAX - 1]}…"


def tone(value: float | None) -> str:
    """The colour class of a rate: ``good``, ``fair``, ``poor``, or ``none`` without one."""
    if value is None:
        return "none"
    return "good" if value >= GOOD else "fair" if value >= FAIR else "poor"


def percent(value: float | None) -> str:
    """A rate as people read it here ("97,5 %" in Vietnamese), or a dash."""
    return "—" if value is None else f"{number_format(value, decimal_pos=1)} %"


@dataclass(frozen=True)
class Bar:
    label: str
    value_text: str
    title: str
    """The tooltip: what the bar is, its rate and its counts."""

    tone: str
    current: bool
    """The bar of the period shown in the tables."""

    x: str
    y: str
    width: str
    height: str
    label_x: str
    label_y: str
    value_x: str
    value_y: str


@dataclass(frozen=True)
class GridLine:
    y: str
    label: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    grid: list[GridLine]
    plot_left: str
    plot_right: str
    plot_width: str


def month_chart(points: list[MonthPoint], shown: Period) -> Chart:
    """Vertical bars, one per month of the year, from 0 to 100 %: the on-time rate."""
    left, right, top, bottom, height = 30.0, WIDTH - 4.0, 18.0, 20.0, 200
    plot = height - top - bottom
    slot = (right - left) / 12
    bars = []
    for index, point in enumerate(points):
        value = point.on_time_rate
        tall = plot * (value or 0) / 100
        x = left + index * slot + slot * 0.15
        y = top + plot - tall
        bars.append(
            Bar(
                label=_("T%(month)s") % {"month": point.period.month},
                value_text="—" if value is None else number_format(value, decimal_pos=0),
                title=_("%(period)s: %(rate)s đúng hạn (%(in_time)s/%(due)s hồ sơ)")
                % {
                    "period": point.period.label,
                    "rate": percent(value),
                    "in_time": point.in_time,
                    "due": point.resolved + point.pending_overdue,
                },
                tone=tone(value),
                current=shown.month_count < 12
                and point.period.month in {m.month for m in shown.months()},
                x=_n(x),
                y=_n(y),
                width=_n(slot * 0.7),
                height=_n(tall),
                label_x=_n(x + slot * 0.35),
                label_y=_n(height - 6),
                value_x=_n(x + slot * 0.35),
                value_y=_n(y - 4),
            )
        )
    grid = [
        GridLine(y=_n(top + plot * (1 - level / 100)), label=f"{level}") for level in (0, 50, 100)
    ]
    return Chart(
        WIDTH,
        height,
        bars,
        grid,
        plot_left=_n(left),
        plot_right=_n(right),
        plot_width=_n(right - left),
    )


def field_chart(lines: list[Line]) -> Chart:
    """Horizontal bars, one per field, the lowest rate on top: the on-time rate by field."""
    row, left, right = 36.0, 0.0, WIDTH - 48.0
    ordered = sorted(
        lines,
        key=lambda line: (line.figures.on_time_rate is None, line.figures.on_time_rate or 0),
    )
    bars = []
    for index, line in enumerate(ordered):
        value = line.figures.on_time_rate
        top = index * row
        wide = (right - left) * (value or 0) / 100
        bars.append(
            Bar(
                label=_short(line.label),
                value_text=percent(value),
                title=_("%(field)s: %(rate)s đúng hạn (%(in_time)s/%(due)s hồ sơ)")
                % {
                    "field": line.label,
                    "rate": percent(value),
                    "in_time": line.figures.in_time,
                    "due": line.figures.came_due,
                },
                tone=tone(value),
                current=False,
                x=_n(left),
                y=_n(top + 16),
                width=_n(max(wide, 1.0) if value is not None else 0.0),
                height=_n(14),
                label_x=_n(left),
                label_y=_n(top + 12),
                value_x=_n(right + 4),
                value_y=_n(top + 27),
            )
        )
    height = max(int(row * len(ordered)) + 4, 40)
    return Chart(
        WIDTH,
        height,
        bars,
        [],
        plot_left=_n(left),
        plot_right=_n(right),
        plot_width=_n(right - left),
    )
