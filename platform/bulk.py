"""Set-based writes for the hot paths (the fulfilment engine works on batches of orders): one
statement for many rows instead of one per row.

`rows_update` writes the given fields of many model instances with a single
`UPDATE … FROM unnest(…)`; `rows_insert_new` inserts the rows whose unique key is not there yet and
returns them (idempotent inserts: outbox rows, webhook deliveries, usage records).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from django.db import IntegrityError, connection, models, transaction

_M = TypeVar("_M", bound=models.Model)


def rows_update(objects: Sequence[models.Model], fields: Sequence[str]) -> int:
    """UPDATE the `fields` of every object (all of one model) from its current attribute values,
    in one statement. `auto_now` fields are not touched for you: set them on the objects."""
    if not objects:
        return 0
    meta = type(objects[0])._meta
    by_name = {field.name: field for field in meta.concrete_fields}
    pk = by_name[meta.pk.name]  # type: ignore[union-attr]
    columns = [by_name[name] for name in fields]
    arrays: list[list[object]] = [[pk.get_db_prep_value(obj.pk, connection) for obj in objects]]
    for field in columns:
        arrays.append([field.get_db_prep_value(getattr(obj, field.attname), connection) for obj in objects])
    quote = connection.ops.quote_name
    casts = [f"%s::{field.db_type(connection)}[]" for field in [pk, *columns]]
    names = [quote(field.column) for field in [pk, *columns]]
    assignments = ", ".join(f"{name} = u.{name}" for name in names[1:])
    sql = (
        f"UPDATE {quote(meta.db_table)} AS t SET {assignments} "
        f"FROM unnest({', '.join(casts)}) AS u({', '.join(names)}) WHERE t.{names[0]} = u.{names[0]}"
    )
    with connection.cursor() as cursor:
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
            return model._default_manager.bulk_create(fresh)
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
