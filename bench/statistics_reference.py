"""The reference of the statistics benchmark: the report counted as it was before closed
months were stored, every dossier, document, rating and event of the period read at each
view (three grouped scans and the month series), for the figures and their time side by side.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any


def previous_counting(dossiers: Any, events: Any, period: Any, now: datetime) -> tuple[Any, Any]:
    """The figures per (office, procedure) and the on-time series of ``period``'s year, with
    the queries the page ran before: the dossiers grouped (the rating joined), the signed
    results (a semi-join with the documents), the events grouped by their dossier's cell, and
    one scan for the months."""
    from django.db.models import Count, Exists, F, OuterRef, Q

    from backoffice.services.statistics import (
        APOLOGY,
        SIGNED_STATES,
        SUPPLEMENT,
        TRANSFER,
        MonthPoint,
        early,
        open_at,
        reporting,
        to_figures,
    )
    from dossiers.models import Document
    from publishing.models import Rating

    start, cut = period.start, period.cutoff(now)
    resolved = Q(resolved_at__gte=start, resolved_at__lt=cut)
    pending = open_at(cut)
    in_play = dossiers.filter(received_at__lt=period.end).filter(
        Q(resolved_at__isnull=True) | Q(resolved_at__gte=start)
    )
    signed = Document.objects.filter(dossier_id=OuterRef("pk"), state__in=SIGNED_STATES)
    with reporting():
        found: dict[Any, dict[str, int]] = {}
        for row in (
            in_play.values("office_id", "procedure_id")
            .annotate(
                received_new=Count("pk", filter=Q(received_at__gte=start)),
                carried_over=Count("pk", filter=Q(received_at__lt=start)),
                resolved=Count("pk", filter=resolved),
                resolved_early=Count("pk", filter=resolved & early()),
                resolved_late=Count("pk", filter=resolved & Q(resolved_at__gt=F("due_at"))),
                pending=Count("pk", filter=pending),
                pending_overdue=Count("pk", filter=pending & Q(due_at__lt=cut)),
                rated=Count("pk", filter=resolved & Q(rating__isnull=False)),
                unsatisfied=Count(
                    "pk", filter=resolved & Q(rating__score=Rating.Score.UNSATISFIED)
                ),
            )
            .order_by()
        ):
            found[(row.pop("office_id"), row.pop("procedure_id"))] = row
        for row in (
            dossiers.filter(resolved_at__gte=start, resolved_at__lt=cut)
            .filter(Exists(signed))
            .values("office_id", "procedure_id")
            .annotate(n=Count("pk"))
            .order_by()
        ):
            found.setdefault((row["office_id"], row["procedure_id"]), {})["digitized_signed"] = row[
                "n"
            ]
        for row in (
            events.filter(kind__in=(SUPPLEMENT, TRANSFER, APOLOGY), at__gte=start, at__lt=cut)
            .values("dossier__office_id", "dossier__procedure_id")
            .annotate(
                supplement_requests=Count("pk", filter=Q(kind=SUPPLEMENT)),
                transfers=Count("pk", filter=Q(kind=TRANSFER)),
                apologies=Count("pk", filter=Q(kind=APOLOGY)),
            )
            .order_by()
        ):
            cell = (row.pop("dossier__office_id"), row.pop("dossier__procedure_id"))
            found.setdefault(cell, {}).update(row)
        months = [month for month in period.whole_year().months() if month.start <= now]
        aggregates: dict[str, Any] = {}
        for index, month in enumerate(months):
            month_cut = month.cutoff(now)
            done = Q(resolved_at__gte=month.start, resolved_at__lt=month_cut)
            aggregates[f"r{index}"] = Count("pk", filter=done)
            aggregates[f"t{index}"] = Count("pk", filter=done & Q(resolved_at__lte=F("due_at")))
            aggregates[f"o{index}"] = Count(
                "pk", filter=open_at(month_cut) & Q(due_at__lt=month_cut)
            )
        year_start = period.whole_year().start
        totals = (
            dossiers.filter(received_at__lt=months[-1].cutoff(now))
            .filter(Q(resolved_at__isnull=True) | Q(resolved_at__gte=year_start))
            .aggregate(**aggregates)
        )
    series = [
        MonthPoint(month, totals[f"r{i}"], totals[f"t{i}"], totals[f"o{i}"])
        for i, month in enumerate(months)
    ]
    return {cell: to_figures(counts) for cell, counts in found.items()}, series
