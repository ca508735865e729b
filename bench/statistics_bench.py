"""Statistics benchmark: the page's queries over a province's three years of dossiers.

Generates a province (10 districts of 10 communes, 30 procedures in 8 fields each) and
``--pg-count`` dossiers over three years, stored in the order they were received (as a live
system stores them), in a scratch PostgreSQL database (one
``INSERT … SELECT generate_series`` per table), and ``--sqlite-count`` in a scratch SQLite
file (``executemany`` in chunks), with their documents, ratings and events (supplement
requests, transfers, apology letters, approvals and signatures). Then it runs what the
statistics page runs, through the same service functions, as the province's administrator:
the report (``build_report``) and the overdue dossiers (``overdue_rows``), for the last
whole year, the running year, one month and one commune's year, and prints the query
times; first the one-time storing of every closed month, and, as the reference, the
previous counting of every dossier (``statistics_reference.py``), whose figures must be the
same; last, the running year's view right after a change in the last closed month. The
PostgreSQL database is dropped afterwards (``--keep`` keeps it and the SQLite
file). Each database runs in a child process of its own (Django reads its settings once).

PostgreSQL: 127.0.0.1:5432, user postgres, trust authentication (``--pg-url`` for another).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TARGET_S = 1.0
"""The province-year view's queries on PostgreSQL, at most."""

YEARS = 3
RUNS = 5


def _setup(url: str | None, data_dir: Path) -> None:
    os.environ["MOTCUA_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "motcua.settings")
    if url:
        os.environ["MOTCUA_DATABASE_URL"] = url
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _timed(label: str, run: Any) -> float:
    """Run ``run`` (a whole page's statistics) :data:`RUNS` times; print the median and the
    queries of the last run, slowest first."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    times = []
    for _ in range(RUNS):
        with CaptureQueriesContext(connection) as queries:
            began = time.perf_counter()
            run()
            times.append(time.perf_counter() - began)
    median = statistics.median(times)
    parts = sorted(queries.captured_queries, key=lambda q: -float(q["time"]))
    print(
        f"  {label:<34} {median * 1000:8.0f} ms  (best {min(times) * 1000:.0f}, "
        f"{len(parts)} queries: "
        + ", ".join(f"{float(q['time']) * 1000:.0f}" for q in parts)
        + " ms)"
    )
    return median


def _same_figures(admin: Any, now: datetime, periods: list[Any]) -> bool:
    """Whether the page's counting (stored months, running month, odd dossiers) gives what
    the previous counting of every dossier gives, cell by cell and month by month."""
    from backoffice.models import MonthFigures
    from backoffice.services.people import STATISTICS_ROLES
    from backoffice.services.statistics_counting import Scope, count
    from bench.statistics_reference import previous_counting
    from dossiers.models import Dossier, Event
    from dossiers.services.access import scope

    roles = STATISTICS_ROLES
    rows = Scope(
        dossiers=scope(Dossier.objects.all(), admin, *roles),
        events=scope(Event.objects.all(), admin, *roles, via="dossier__office"),
        stored=scope(MonthFigures.objects.all(), admin, *roles, via="office_id"),
    )
    for period in periods:
        found = count(rows, period, now)
        cells, months = previous_counting(rows.dossiers, rows.events, period, now)
        if found.cells != cells or found.months != months:
            print(f"  DIFFERENT figures for {period.label}")
            return False
    return True


def _after_a_change(label: str, now: datetime, run: Any) -> float:
    """:data:`RUNS` times: a rating given for a dossier resolved last month (its trigger
    records the dossier), then ``run``, timed, which counts that month again."""
    from backoffice.services.statistics_store import month_of, month_start
    from dossiers.models import Dossier
    from publishing.models import Rating

    running = month_start(month_of(now))
    last = month_start(month_of(running - timedelta(days=1)))
    unrated = Dossier.objects.filter(
        resolved_at__gte=last, resolved_at__lt=running, rating__isnull=True
    ).values_list("pk", flat=True)[:RUNS]
    times = []
    for pk in unrated:
        Rating.objects.create(dossier_id=pk, score=Rating.Score.SATISFIED)
        began = time.perf_counter()
        run()
        times.append(time.perf_counter() - began)
    median = statistics.median(times)
    print(f"  {label:<34} {median * 1000:8.0f} ms  (best {min(times) * 1000:.0f})")
    return median


def _measure(backend: str, count: int) -> tuple[float, bool]:
    """Generate the data, then time the views; returns the province-year view's median and
    whether its figures are the previous counting's."""
    from django.db import connection
    from django.utils import timezone

    from backoffice.models import MonthFigures
    from backoffice.services.periods import Period
    from backoffice.services.statistics_report import build_report, overdue_rows
    from backoffice.services.statistics_store import refresh
    from bench.statistics_data import load_postgres, load_sqlite
    from bench.statistics_data import offices as make_offices
    from bench.statistics_reference import previous_counting
    from core.vntime import to_vn
    from dossiers.models import Dossier, Event

    now = timezone.now()
    start = now - timedelta(days=365 * YEARS)
    admin, offices = make_offices()
    began = time.perf_counter()
    (load_postgres if backend == "postgres" else load_sqlite)(count, start, now)
    loaded = time.perf_counter() - began
    print(
        f"{backend}: {Dossier.objects.count():,} dossiers, {Event.objects.count():,} events, "
        f"{len(offices)} offices, generated in {loaded:.0f} s ({connection.vendor}); "
        f"load average {os.getloadavg()[0]:.1f} before timing"
    )
    began = time.perf_counter()
    refresh(now)
    print(
        f"  {'every closed month stored (once)':<34} {time.perf_counter() - began:8.1f} s"
        f"   ({MonthFigures.objects.count():,} rows)"
    )
    year = to_vn(now).year

    def page(period: Period, office_id: int | None = None) -> None:
        report = build_report(admin, period, now, office_id)
        overdue_rows(admin, now, office_id)
        assert report.total.received > 0

    def previous_page(period: Period) -> None:
        from django.db.models import Q

        province = Dossier.objects.filter(Q(office__in=offices))
        events = Event.objects.filter(dossier__office__in=offices)
        previous_counting(province, events, period, now)
        overdue_rows(admin, now)

    reference = _timed(f"REFERENCE, year {year - 1}", lambda: previous_page(Period(year - 1)))
    last_year = _timed(f"province, year {year - 1}", lambda: page(Period(year - 1)))
    _timed(f"province, year {year} (running)", lambda: page(Period(year)))
    _timed(f"province, month {year - 1}-06", lambda: page(Period(year - 1, month=6)))
    _timed(f"one commune, year {year - 1}", lambda: page(Period(year - 1), offices[-1].pk))
    _after_a_change(f"year {year}, last month changed", now, lambda: page(Period(year)))
    same = _same_figures(admin, now, [Period(year - 1), Period(year), Period(year - 1, month=6)])
    print(
        f"  province-year view: {last_year * 1000:.0f} ms, previous counting "
        f"{reference * 1000:.0f} ms in the same run ({reference / last_year:.1f}x); "
        f"figures identical: {'yes' if same else 'NO'}; "
        f"load average {os.getloadavg()[0]:.1f} after timing"
    )
    return last_year, same


def _child(args: argparse.Namespace) -> int:
    work = Path(tempfile.mkdtemp(prefix="statbench-"))
    url = None
    database = f"motcua_statbench_{os.getpid()}"
    if args.backend == "postgres":
        subprocess.run(["createdb", "-h", args.pg_host, "-U", "postgres", database], check=True)
        url = f"postgresql://postgres@{args.pg_host}:5432/{database}"
    try:
        _setup(url, work)
        count = args.pg_count if url else args.sqlite_count
        median, same = _measure(args.backend, count)
        if url:
            from bench.figures import verdict

            met = verdict(median < TARGET_S)
            print(f"  target: province-year under {TARGET_S:.0f} s on PostgreSQL: {met}")
        if not same:
            return 1
    finally:
        from django.db import connections

        connections.close_all()
        if url and not args.keep:
            subprocess.run(["dropdb", "-h", args.pg_host, "-U", "postgres", database], check=True)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"  kept: {work}" + (f" and database {database}" if url else ""))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("postgres", "sqlite", "both"), default="both")
    parser.add_argument("--pg-count", type=int, default=1_000_000)
    parser.add_argument("--sqlite-count", type=int, default=100_000)
    parser.add_argument("--pg-host", default="127.0.0.1")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    if args.backend != "both":
        return _child(args)
    status = 0
    for backend in ("postgres", "sqlite"):
        command = [sys.executable, __file__, "--backend", backend]
        command += ["--pg-count", str(args.pg_count), "--sqlite-count", str(args.sqlite_count)]
        command += ["--pg-host", args.pg_host] + (["--keep"] if args.keep else [])
        status |= subprocess.run(command, check=False).returncode
    return status


if __name__ == "__main__":
    raise SystemExit(main())
