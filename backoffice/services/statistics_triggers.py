"""Database triggers that record what changed in the stored months' counts.

Whatever writes (a service, the admin, an import, ``QuerySet.update``, plain SQL), a change
to a dossier's moments, office or procedure, to a counted event, to whether a document is
signed, or to a rating adds :class:`~backoffice.models.CountedChange` rows in the writer's own
transaction; the statistics count the months they name again before reading them
(``statistics_store.refresh``):

- a dossier: the stored months of its receipt, due and resolution moments, old and new; a
  resolution alone (nothing else changed) only its own month, and its due month when it came
  in time (that month counted it as coming due while open); moved to another office or
  procedure, also the dossier, for its events' months;
- an event of a counted kind: its stored month, old and new;
- a document becoming or ceasing to be signed, a rating: the dossier, for its resolution month.

A trigger's body names only its own row and the two tables of ``backoffice.models``: SQLite
checks every trigger naming a table when a migration rebuilds that table (drop, then rename a
copy), so a body naming ``dossiers_dossier`` would make every such migration fail. Rebuilding
a table drops the triggers on it: they are installed again after every ``migrate``
(``BackofficeConfig.ready``) and whenever the statistics find one missing, and every stored
month is then counted again.

Writers only insert, so they never wait for one another; on PostgreSQL each trigger first
takes ROW EXCLUSIVE on the changes' table (then reads the stored months with a fresh
snapshot), which a recount holds SHARE ROW EXCLUSIVE: a change made while a month is counted
is seen by the count or recorded once the count is stored.
"""

# ruff: noqa: S608 - trigger definitions built from the models' tables and the code's constants

from __future__ import annotations

from typing import Any

from django.db import connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model

from backoffice.models import CountedChange, StoredMonth
from backoffice.services.statistics import COUNTED_EVENTS, SIGNED_STATES
from dossiers.models import Document, Dossier, Event
from publishing.models import Rating

__all__ = ["PREFIX", "install", "install_after_migrate", "installed", "missing", "wanted"]

PREFIX = "backoffice_stats_v1_"
"""Every trigger's (and PostgreSQL function's) name starts so; a new version of the rules
gets a new prefix, and the old triggers are dropped."""

MOMENTS = ("received_at", "due_at", "resolved_at")
CELL = ("office_id", "procedure_id")


def _table(model: type[Model]) -> str:
    return model._meta.db_table


def _within(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(str(value)) for value in values)})"


class _Dialect:
    """What differs between PostgreSQL and SQLite."""

    def __init__(self, vendor: str) -> None:
        self.postgres = vendor == "postgresql"
        self.distinct = "IS DISTINCT FROM" if self.postgres else "IS NOT"

    def month(self, moment: str) -> str:
        """The first day of a moment's Vietnam-time month (SQLite: UTC text + 7 hours)."""
        if self.postgres:
            return f"(date_trunc('month', {moment} AT TIME ZONE 'Asia/Ho_Chi_Minh'))::date"
        return f"date({moment}, '+7 hours', 'start of month')"

    def months(self, moments: list[str], when: str = "") -> str:
        """Record those of the moments' months that are stored, if ``when``."""
        condition = f"({when}) AND " if when else ""
        listed = ", ".join(self.month(moment) for moment in moments)
        return (
            f"INSERT INTO {_table(CountedChange)} (month, with_events)"
            f" SELECT month, {self.false} FROM {_table(StoredMonth)}"
            f" WHERE {condition}month IN ({listed});"
        )

    def dossiers(self, ids: list[str], with_events: bool = False, when: str = "") -> str:
        """Record the dossiers (their resolution month, and their events' if
        ``with_events``, are looked up when counting), if ``when``."""
        flag = self.true if with_events else self.false
        rows = " UNION ALL ".join(f"SELECT {dossier} AS dossier_id" for dossier in ids)
        condition = f" AND ({when})" if when else ""
        return (
            f"INSERT INTO {_table(CountedChange)} (dossier_id, with_events)"
            f" SELECT dossier_id, {flag} FROM ({rows}) AS changed"
            f" WHERE dossier_id IS NOT NULL{condition};"
        )

    @property
    def true(self) -> str:
        return "true" if self.postgres else "1"

    @property
    def false(self) -> str:
        return "false" if self.postgres else "0"


def _changed(d: _Dialect, columns: tuple[str, ...]) -> str:
    return " OR ".join(f"OLD.{c} {d.distinct} NEW.{c}" for c in columns)


def _dossier_update(d: _Dialect) -> str:
    """A resolution alone: its month, and its due month when in time; anything else: every
    month, old and new, and the dossier's events when it moved."""
    resolution_only = " AND ".join(
        [
            "OLD.resolved_at IS NULL",
            "NEW.resolved_at IS NOT NULL",
            "NEW.resolved_at >= NEW.received_at",
            *(f"OLD.{c} = NEW.{c}" for c in ("received_at", "due_at", *CELL)),
        ]
    )
    in_time = "CASE WHEN NEW.resolved_at <= NEW.due_at THEN NEW.due_at END"
    every = [f"{row}.{c}" for row in ("OLD", "NEW") for c in MOMENTS]
    moved = " OR ".join(f"OLD.{c} <> NEW.{c}" for c in CELL)
    return " ".join(
        (
            d.months(["NEW.resolved_at", in_time], resolution_only),
            d.months(every, f"NOT ({resolution_only})"),
            d.dossiers(["NEW.id"], with_events=True, when=moved),
        )
    )


Trigger = tuple[str, str, str, str, str]
"""(name, event, table, WHEN condition or "", body)."""


def _triggers(d: _Dialect) -> list[Trigger]:
    kinds, signed = _within("{row}.kind", COUNTED_EVENTS), _within("{row}.state", SIGNED_STATES)
    old_kind, new_kind = kinds.format(row="OLD"), kinds.format(row="NEW")
    old_signed, new_signed = signed.format(row="OLD"), signed.format(row="NEW")
    dossier, event, document, rating = (_table(m) for m in (Dossier, Event, Document, Rating))
    both = ["OLD.dossier_id", "NEW.dossier_id"]
    return [
        ("dossier_insert", "INSERT", dossier, "", d.months([f"NEW.{c}" for c in MOMENTS])),
        ("dossier_delete", "DELETE", dossier, "", d.months([f"OLD.{c}" for c in MOMENTS])),
        (
            "dossier_update",
            f"UPDATE OF {', '.join((*MOMENTS, *CELL))}",
            dossier,
            _changed(d, (*MOMENTS, *CELL)),
            _dossier_update(d),
        ),
        ("event_insert", "INSERT", event, new_kind, d.months(["NEW.at"])),
        ("event_delete", "DELETE", event, old_kind, d.months(["OLD.at"])),
        (
            "event_update",
            "UPDATE OF kind, at, dossier_id",
            event,
            f"({old_kind} OR {new_kind}) AND ({_changed(d, ('kind', 'at', 'dossier_id'))})",
            # moved to another dossier: the same month, counted in the other dossier's cell
            d.months(
                [f"CASE WHEN {old_kind} THEN OLD.at END", f"CASE WHEN {new_kind} THEN NEW.at END"]
            ),
        ),
        ("document_insert", "INSERT", document, new_signed, d.dossiers(["NEW.dossier_id"])),
        ("document_delete", "DELETE", document, old_signed, d.dossiers(["OLD.dossier_id"])),
        (
            "document_update",
            "UPDATE OF state, dossier_id",
            document,
            f"({old_signed}) <> ({new_signed})"
            f" OR (OLD.dossier_id <> NEW.dossier_id AND ({old_signed} OR {new_signed}))",
            d.dossiers(both),
        ),
        ("rating_insert", "INSERT", rating, "", d.dossiers(["NEW.dossier_id"])),
        ("rating_delete", "DELETE", rating, "", d.dossiers(["OLD.dossier_id"])),
        (
            "rating_update",
            "UPDATE OF score, dossier_id",
            rating,
            "OLD.score <> NEW.score OR OLD.dossier_id <> NEW.dossier_id",
            d.dossiers(both),
        ),
    ]


def _create(d: _Dialect) -> list[str]:
    """The statements creating every trigger (and, on PostgreSQL, its function)."""
    statements = []
    for name, event, table, when, body in _triggers(d):
        condition = f" WHEN ({when})" if when else ""
        full = PREFIX + name
        if d.postgres:
            lock = f"LOCK TABLE {_table(CountedChange)} IN ROW EXCLUSIVE MODE;"
            statements.append(
                f"CREATE OR REPLACE FUNCTION {full}() RETURNS trigger LANGUAGE plpgsql AS $$"
                f" BEGIN {lock} {body} RETURN NULL; END $$"
            )
            statements.append(
                f"CREATE OR REPLACE TRIGGER {full} AFTER {event} ON {table} FOR EACH ROW"
                f"{condition} EXECUTE FUNCTION {full}()"
            )
        else:
            statements.append(
                f"CREATE TRIGGER {full} AFTER {event} ON {table} FOR EACH ROW{condition}"
                f" BEGIN {body} END"
            )
    return statements


def installed(connection: BaseDatabaseWrapper) -> dict[str, str]:
    """The statistics triggers in the database, by name, with their tables (one query)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT tgname, tgrelid::regclass::text FROM pg_trigger"
                " WHERE NOT tgisinternal AND tgname LIKE 'backoffice_stats_%'"
            )
        else:
            cursor.execute(
                "SELECT name, tbl_name FROM sqlite_master"
                " WHERE type = 'trigger' AND name LIKE 'backoffice_stats_%'"
            )
        return dict(cursor.fetchall())


def wanted(connection: BaseDatabaseWrapper) -> set[str]:
    """The names of the triggers this version installs."""
    return {PREFIX + name for name, *_rest in _triggers(_Dialect(connection.vendor))}


def missing(connection: BaseDatabaseWrapper) -> bool:
    """Whether the triggers in the database are not this version's (one query)."""
    return set(installed(connection)) != wanted(connection)


def install(connection: BaseDatabaseWrapper, present: dict[str, str] | None = None) -> bool:
    """Create the triggers when any is missing (or of an older version), dropping the old
    ones, and forget every stored month; True when it did. ``present``: what
    :func:`installed` answered, if already asked."""
    tables = set(connection.introspection.table_names())
    needed = {_table(m) for m in (StoredMonth, CountedChange, Dossier, Event, Document, Rating)}
    if connection.vendor not in ("postgresql", "sqlite") or not needed <= tables:
        return False
    dialect = _Dialect(connection.vendor)
    present = installed(connection) if present is None else present
    if set(present) == wanted(connection):
        return False
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        for name, table in present.items():
            if dialect.postgres:
                cursor.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
                cursor.execute(f"DROP FUNCTION IF EXISTS {name}()")
            else:
                cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
        for statement in _create(dialect):
            cursor.execute(statement)
        cursor.execute(f"DELETE FROM {_table(StoredMonth)}")
        cursor.execute(f"DELETE FROM {_table(CountedChange)}")
    return True


def install_after_migrate(using: str, **_signal: Any) -> None:
    """``post_migrate`` receiver: the triggers of the database just migrated."""
    install(connections[using])
