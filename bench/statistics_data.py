"""The statistics benchmark's data: a province of 111 offices and its dossiers of three years,
with their documents, ratings and events, loaded in bulk into PostgreSQL or SQLite."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

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


def offices() -> tuple[Any, list[Any]]:
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


def load_postgres(count: int, start: datetime, now: datetime) -> None:
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


def load_sqlite(count: int, start: datetime, now: datetime, chunk: int = 20_000) -> None:
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
