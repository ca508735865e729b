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
times. ``--proposed-indexes`` first adds two indexes the dossiers' models do not have
(events by kind and time; open dossiers by due date) to see what they would save. The
PostgreSQL database is dropped afterwards (``--keep`` keeps it and the SQLite
file). Each database runs in a child process of its own (Django reads its settings once).

PostgreSQL: 127.0.0.1:5432, user postgres, trust authentication (``--pg-url`` for another).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TARGET_S = 1.0
"""The province-year view's queries on PostgreSQL, at most."""

DISTRICTS, COMMUNES, PROCEDURES = 10, 10, 30
FIELDS = (
    "Hộ tịch",
    "Đất đai",
    "Chứng thực",
    "Xây dựng",
    "Kinh doanh",
    "Lao động",
    "Y tế",
    "Tư pháp",
)
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


def _offices() -> tuple[Any, list[Any]]:
    """The province, its districts and communes, their procedures, and its administrator."""
    from django.contrib.auth.models import User

    from dossiers.models import Membership, Office, Procedure, Role

    province = Office.objects.create(code="tinh", name="UBND tỉnh Thử Nghiệm")
    offices = [province]
    for d in range(DISTRICTS):
        district = Office.objects.create(code=f"huyen-{d}", name=f"UBND huyện {d}", parent=province)
        offices.append(district)
        for c in range(COMMUNES):
            offices.append(
                Office.objects.create(code=f"xa-{d}-{c}", name=f"UBND xã {d}.{c}", parent=district)
            )
    Procedure.objects.bulk_create(
        Procedure(
            office=office,
            code=f"1.{p:06d}",
            name=f"Thủ tục {p}",
            field=FIELDS[p % len(FIELDS)],
            limit_working_days=(3, 5, 7, 10, 15)[p % 5],
        )
        for office in offices
        for p in range(PROCEDURES)
    )
    admin = User.objects.create_user("quantri-tinh")
    Membership.objects.create(user=admin, office=province, role=Role.ADMIN)
    return admin, offices


POSTGRES_LOAD = """
CREATE TEMP TABLE bench_procedure AS
  SELECT row_number() OVER (ORDER BY id) AS n, id, office_id, limit_working_days
  FROM dossiers_procedure;
INSERT INTO dossiers_dossier (code, office_id, procedure_id, applicant_name, applicant_folded,
    email, phone, received_at, due_at, resolved_at, status, secret_hash, created_at)
SELECT 'BENCH-' || s.i, p.office_id, p.id, 'Người nộp ' || s.i, 'nguoi nop ' || s.i, '', '',
    s.received, d.due,
    CASE WHEN s.u < 0.03 OR s.received + (d.due - s.received) * s.f > %(now)s THEN NULL
         ELSE s.received + (d.due - s.received) * s.f END,
    CASE WHEN s.u < 0.03 OR s.received + (d.due - s.received) * s.f > %(now)s
         THEN 'processing' ELSE 'resolved' END,
    '', s.received
FROM (SELECT i, %(start)s + random() * (%(now)s - %(start)s) AS received,
             random() AS u, 0.3 + 0.8 * random() AS f,
             1 + floor(random() * (SELECT count(*) FROM bench_procedure))::int AS n
      FROM generate_series(1, %(count)s) AS i) AS s
JOIN bench_procedure p ON p.n = s.n
CROSS JOIN LATERAL (
  SELECT (date_trunc('day', s.received AT TIME ZONE 'Asia/Ho_Chi_Minh')
          + make_interval(days => ceil(p.limit_working_days * 1.4)::int)
          + interval '17 hours') AT TIME ZONE 'Asia/Ho_Chi_Minh' AS due
) AS d
ORDER BY s.received;
INSERT INTO dossiers_document (dossier_id, state, state_changed_at, source_dir, source_sha256,
    page_count, text, text_folded, pdf_path, pdf_sha256, signed_path, signed_sha256,
    verify_code, reason, created_at)
SELECT id, CASE WHEN resolved_at IS NULL THEN 'AWAITING_APPROVAL'
                WHEN random() < 0.85 THEN 'DELIVERED' ELSE 'REJECTED' END,
    coalesce(resolved_at, received_at), '/bench', md5(id::text) || md5(id::text), 2, '', '',
    '', '', '', '', 'B' || id, '', received_at
FROM dossiers_dossier;
INSERT INTO publishing_rating (dossier_id, score, comment, created_at)
SELECT id, CASE WHEN random() < 0.05 THEN 'unsatisfied' WHEN random() < 0.5 THEN 'satisfied'
                ELSE 'very_satisfied' END, '', resolved_at
FROM dossiers_dossier WHERE resolved_at IS NOT NULL AND random() < 0.3;
INSERT INTO dossiers_event (dossier_id, kind, from_state, to_state, actor, detail, at)
SELECT d.id, k.kind, '', '', CASE WHEN k.kind IN ('approved', 'signed')
    THEN 'lanhdao-' || d.office_id ELSE '' END, '{}'::jsonb,
    d.received_at + (coalesce(d.resolved_at, d.due_at) - d.received_at) * k.at::float8
FROM dossiers_dossier d
CROSS JOIN (VALUES ('registered', 0.0, 1.0), ('approved', 0.8, 0.97), ('signed', 0.9, 0.97),
                   ('supplement_requested', 0.3, 0.05), ('transferred', 0.5, 0.03))
     AS k(kind, at, share)
WHERE random() < k.share AND (k.kind NOT IN ('approved', 'signed') OR d.resolved_at IS NOT NULL);
INSERT INTO dossiers_event (dossier_id, kind, from_state, to_state, actor, detail, at)
SELECT id, 'apology_issued', '', '', '', '{}'::jsonb, due_at + interval '1 hour'
FROM dossiers_dossier WHERE coalesce(resolved_at, %(now)s) > due_at;
"""


def _load_postgres(count: int, start: datetime, now: datetime) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(POSTGRES_LOAD, {"count": count, "start": start, "now": now})
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


EVENT_KINDS = (
    ("registered", 0.0, 1.0),
    ("approved", 0.8, 0.97),
    ("signed", 0.9, 0.97),
    ("supplement_requested", 0.3, 0.05),
    ("transferred", 0.5, 0.03),
)
"""(kind, when in the dossier's life, share of dossiers), as in the PostgreSQL load."""


def _load_sqlite(count: int, start: datetime, now: datetime, chunk: int = 20_000) -> None:
    """The same distributions as the PostgreSQL load, drawn in Python, inserted in chunks."""
    from django.db import connection, transaction

    from core.vntime import VN_TZ
    from dossiers.models import Procedure

    procedures = list(Procedure.objects.values_list("pk", "office_id", "limit_working_days"))
    at = connection.ops.adapt_datetimefield_value  # as Django stores them: naive UTC text
    rng = random.Random(766)  # noqa: S311 - test data, not secrets
    span = (now - start).total_seconds()
    moments = sorted(rng.random() * span for _ in range(count))  # stored as they arrive
    next_id = 1
    for first in range(0, count, chunk):
        dossiers, documents, ratings, events = [], [], [], []
        for i in range(first + 1, min(first + chunk, count) + 1):
            pk, office, limit = rng.choice(procedures)
            received = start + timedelta(seconds=moments[i - 1])
            day = received.astimezone(VN_TZ).date() + timedelta(days=-(-limit * 14 // 10))
            due = datetime(day.year, day.month, day.day, 17, tzinfo=VN_TZ).astimezone(UTC)
            resolved: datetime | None = received + (due - received) * (0.3 + 0.8 * rng.random())
            if rng.random() < 0.03 or (resolved is not None and resolved > now):
                resolved = None
            dossier_id = next_id
            next_id += 1
            dossiers.append(
                (dossier_id, f"BENCH-{i}", office, pk, f"Người nộp {i}", f"nguoi nop {i}", "", "",
                 at(received), at(due), at(resolved), "resolved" if resolved else "processing",
                 "", at(received))
            )  # fmt: skip
            state = (
                "AWAITING_APPROVAL"
                if resolved is None
                else "DELIVERED"
                if rng.random() < 0.85
                else "REJECTED"
            )
            documents.append(
                (dossier_id, state, at(resolved or received), "/bench", "0" * 64, 2, "", "", "",
                 "", "", "", f"B{dossier_id}", "", at(received))
            )  # fmt: skip
            until = resolved or due
            if resolved is not None and rng.random() < 0.3:
                roll = rng.random()
                score = (
                    "unsatisfied"
                    if roll < 0.05
                    else "satisfied"
                    if roll < 0.5
                    else "very_satisfied"
                )
                ratings.append((dossier_id, score, "", at(resolved)))
            for kind, share_of_time, share in EVENT_KINDS:
                if rng.random() < share and (kind not in ("approved", "signed") or resolved):
                    actor = f"lanhdao-{office}" if kind in ("approved", "signed") else ""
                    moment = received + (until - received) * share_of_time
                    events.append((dossier_id, kind, "", "", actor, "{}", at(moment)))
            if (resolved or now) > due:
                late = due + timedelta(hours=1)
                events.append((dossier_id, "apology_issued", "", "", "", "{}", at(late)))
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO dossiers_dossier (id, code, office_id, procedure_id, applicant_name,"
                " applicant_folded, email, phone, received_at, due_at, resolved_at, status,"
                " secret_hash, created_at) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
                dossiers,
            )
            cursor.executemany(
                "INSERT INTO dossiers_document (dossier_id, state, state_changed_at, source_dir,"
                " source_sha256, page_count, text, text_folded, pdf_path, pdf_sha256, signed_path,"
                " signed_sha256, verify_code, reason, created_at)"
                " VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
                documents,
            )
            cursor.executemany(
                "INSERT INTO publishing_rating (dossier_id, score, comment, created_at)"
                " VALUES (%s,%s,%s,%s)",
                ratings,
            )
            cursor.executemany(
                "INSERT INTO dossiers_event (dossier_id, kind, from_state, to_state, actor,"
                " detail, at) VALUES (%s,%s,%s,%s,%s,%s,%s)",
                events,
            )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


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


PROPOSED_INDEXES = (
    "CREATE INDEX bench_event_kind_at ON dossiers_event (kind, at)",
    "CREATE INDEX bench_dossier_open_due ON dossiers_dossier (due_at) WHERE resolved_at IS NULL",
)
"""Not in the models (dossiers owns them): what they would save, with ``--proposed-indexes``."""


def _measure(backend: str, count: int, proposed_indexes: bool = False) -> float:
    """Generate the data, then time the views; returns the province-year view's median."""
    from django.db import connection
    from django.utils import timezone

    from backoffice.services.periods import Period
    from backoffice.services.statistics_report import build_report, overdue_rows
    from core.vntime import to_vn
    from dossiers.models import Dossier, Event

    now = timezone.now()
    start = now - timedelta(days=365 * YEARS)
    admin, offices = _offices()
    began = time.perf_counter()
    (_load_postgres if backend == "postgres" else _load_sqlite)(count, start, now)
    loaded = time.perf_counter() - began
    if proposed_indexes:
        with connection.cursor() as cursor:
            for statement in PROPOSED_INDEXES:
                cursor.execute(statement)
            cursor.execute("ANALYZE")
    print(
        f"{backend}: {Dossier.objects.count():,} dossiers, {Event.objects.count():,} events, "
        f"{len(offices)} offices, generated in {loaded:.0f} s ({connection.vendor}); "
        f"load average {os.getloadavg()[0]:.1f} before timing"
    )
    year = to_vn(now).year

    def page(period: Period, office_id: int | None = None) -> None:
        report = build_report(admin, period, now, office_id)
        overdue_rows(admin, now, office_id)
        assert report.total.received > 0

    last_year = _timed(f"province, year {year - 1}", lambda: page(Period(year - 1)))
    _timed(f"province, year {year} (running)", lambda: page(Period(year)))
    _timed(f"province, month {year - 1}-06", lambda: page(Period(year - 1, month=6)))
    _timed(f"one commune, year {year - 1}", lambda: page(Period(year - 1), offices[-1].pk))
    return last_year


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
        median = _measure(args.backend, count, args.proposed_indexes)
        if url:
            verdict = "met" if median < TARGET_S else "NOT met"
            print(f"  target: province-year under {TARGET_S:.0f} s on PostgreSQL: {verdict}")
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
    parser.add_argument("--proposed-indexes", action="store_true")
    args = parser.parse_args()
    if args.backend != "both":
        return _child(args)
    status = 0
    for backend in ("postgres", "sqlite"):
        command = [sys.executable, __file__, "--backend", backend]
        command += ["--pg-count", str(args.pg_count), "--sqlite-count", str(args.sqlite_count)]
        command += ["--pg-host", args.pg_host] + (["--keep"] if args.keep else [])
        command += ["--proposed-indexes"] if args.proposed_indexes else []
        status |= subprocess.run(command, check=False).returncode
    return status


if __name__ == "__main__":
    raise SystemExit(main())
