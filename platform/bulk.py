"""Set-based writes for the hot paths (the fulfilment engine works on batches of orders): one
statement for many rows instead of one per row.

`rows_insert` inserts many model instances with a single `INSERT … SELECT FROM unnest(…)` and sets
their ids; `rows_update` writes the given fields of many instances with a single
`UPDATE … FROM unnest(…)`; `rows_insert_new` inserts the rows whose unique key is not there yet and
returns them (idempotent inserts: outbox rows, webhook deliveries, usage records).

The arrays are sent as bound parameters in binary (psycopg's server-side binding, `%b`), not
quoted into the SQL text by Python as Django's own cursors do: for a batch of fifty rows of ten
columns that was most of the cost of a `bulk_create`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import psycopg
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, connections, models, transaction

_M = TypeVar("_M", bound=models.Model)


def _bound_cursor() -> psycopg.Cursor[tuple[object, ...]]:
    """A cursor on Django's connection (same transaction) that binds parameters on the server."""
    with connection.cursor():  # django-tenants sets the bank's search_path when a cursor is made
        pass
    return psycopg.Cursor(connection.connection)


def _columns(model: type[models.Model]) -> tuple[models.Field[object, object], list[models.Field[object, object]]]:
    meta = model._meta
    pk = meta.pk
    assert pk is not None
    return pk, [field for field in meta.concrete_fields if field is not pk]  # type: ignore[misc]


def rows_insert(objects: Sequence[_M]) -> Sequence[_M]:
    """INSERT the objects (all of one model, ids not set) in one statement; sets their ids.
    `auto_now`/`auto_now_add` fields are filled as `save()` would."""
    if not objects:
        return objects
    db = connections[DEFAULT_DB_ALIAS]  # resolved once: the proxy costs a lookup per attribute
    model = type(objects[0])
    pk, fields = _columns(model)
    arrays = [[field.get_db_prep_save(field.pre_save(obj, True), db) for obj in objects] for field in fields]
    quote = db.ops.quote_name
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(field.column) for field in fields)}) "
        f"SELECT * FROM unnest({', '.join(f'%b::{field.db_type(db)}[]' for field in fields)}) "
        f"RETURNING {quote(pk.column)}"
    )
    with db.wrap_database_errors, _bound_cursor() as cursor:
        cursor.execute(sql, arrays)
        ids = [row[0] for row in cursor.fetchall()]
    for obj, pk_value in zip(objects, ids, strict=True):
        obj.pk = pk_value
        obj._state.adding = False
        obj._state.db = db.alias
    return objects


def rows_update(objects: Sequence[models.Model], fields: Sequence[str]) -> int:
    """UPDATE the `fields` of every object (all of one model) from its current attribute values,
    in one statement. `auto_now` fields are not touched for you: set them on the objects."""
    if not objects:
        return 0
    db = connections[DEFAULT_DB_ALIAS]
    meta = type(objects[0])._meta
    by_name = {field.name: field for field in meta.concrete_fields}
    pk = by_name[meta.pk.name]  # type: ignore[union-attr]
    columns = [by_name[name] for name in fields]
    arrays: list[list[object]] = [[pk.get_db_prep_value(obj.pk, db) for obj in objects]]
    for field in columns:
        arrays.append([field.get_db_prep_save(getattr(obj, field.attname), db) for obj in objects])
    quote = db.ops.quote_name
    casts = [f"%b::{field.db_type(db)}[]" for field in [pk, *columns]]
    names = [quote(field.column) for field in [pk, *columns]]
    assignments = ", ".join(f"{name} = u.{name}" for name in names[1:])
    sql = (
        f"UPDATE {quote(meta.db_table)} AS t SET {assignments} "
        f"FROM unnest({', '.join(casts)}) AS u({', '.join(names)}) WHERE t.{names[0]} = u.{names[0]}"
    )
    with db.wrap_database_errors, _bound_cursor() as cursor:
        cursor.execute(sql, arrays)
        return int(cursor.rowcount)


def rows_insert_new(model: type[_M], rows: Sequence[_M], *, key: str) -> list[_M]:
    """Insert the rows whose `key` (a unique column) is not in the table yet, nor earlier in `rows`;
    return the rows inserted (with their ids). Rows whose key is None are always inserted. A
    concurrent insert of the same key is absorbed: the rows are then inserted one by one and the
    ones that lose the race are left out. Runs inside the caller's transaction (savepoints)."""
    keys = [getattr(row, key) for row in rows if getattr(row, key) is not None]
    present = set(model._default_manager.filter(**{f"{key}__in": keys}).values_list(key, flat=True)) if keys else set()
    fresh: list[_M] = []
    for row in rows:
        value = getattr(row, key)
        if value is not None:
            if value in present:
                continue
            present.add(value)
        fresh.append(row)
    if not fresh:
        return []
    try:
        with transaction.atomic():
            return list(rows_insert(fresh))
    except IntegrityError:
        pass
    inserted: list[_M] = []
    for row in fresh:
        row.pk = None
        try:
            with transaction.atomic():
                row.save(force_insert=True)
        except IntegrityError:
            continue
        inserted.append(row)
    return inserted
