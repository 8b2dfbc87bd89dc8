"""Copy a migrated schema's structure (and its small bookkeeping data) into a new schema, fast.

django-tenants ships a generic PL/pgSQL `clone_schema`, but it takes seconds and then runs a fake
`migrate_schemas`. We only ever clone our own template, so this copies exactly what Django's
migrations create: tables with defaults and identity columns, then every constraint and index
under its original name (so later migrations that drop them by name work), then the rows of the
bookkeeping tables (`django_migrations`, content types, permissions). Runs inside the caller's
transaction: a failure leaves nothing behind.
"""

from __future__ import annotations

import re

from django.db import connection

# tables whose rows are part of a migrated schema; everything else starts empty
_DATA_TABLES = ("django_migrations", "django_content_type", "auth_permission")


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def schema_clone(*, source: str, target: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind IN ('r', 'p') ORDER BY c.relname",
            [source],
        )
        tables = [row[0] for row in cursor.fetchall()]
        # definitions are read with only the source on the search path, so that they come back
        # unqualified and land in the target when replayed with only the target on the path
        cursor.execute(f"SET LOCAL search_path = {_quote(source)}")
        cursor.execute(
            "SELECT con.conrelid::regclass::text, con.conname, pg_get_constraintdef(con.oid), con.contype "
            "FROM pg_constraint con JOIN pg_namespace n ON n.oid = con.connamespace "
            "WHERE n.nspname = %s AND con.contype IN ('p', 'u', 'c', 'f', 'x') "
            "ORDER BY CASE con.contype WHEN 'p' THEN 0 WHEN 'u' THEN 1 WHEN 'x' THEN 2 WHEN 'c' THEN 3 ELSE 4 END, "
            "con.conname",
            [source],
        )
        constraints = cursor.fetchall()
        cursor.execute(
            "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_namespace n ON n.oid = ic.relnamespace "
            "WHERE n.nspname = %s AND NOT EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = i.indexrelid "
            "AND con.contype IN ('p', 'u', 'x')) ORDER BY ic.relname",
            [source],
        )
        # pg_get_indexdef always names the table's schema: point it at the target
        on_source = re.compile(r" ON (ONLY )?(" + re.escape(source) + "|" + re.escape(_quote(source)) + r")\.")
        indexes = [
            on_source.sub(lambda m: f" ON {m.group(1) or ''}{_quote(target)}.", row[0], count=1)
            for row in cursor.fetchall()
        ]

        statements = [f"CREATE SCHEMA {_quote(target)}", f"SET LOCAL search_path = {_quote(target)}"]
        statements += [
            f"CREATE TABLE {_quote(t)} (LIKE {_quote(source)}.{_quote(t)} "
            "INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING GENERATED INCLUDING STORAGE INCLUDING COMMENTS)"
            for t in tables
        ]
        statements += [
            f"ALTER TABLE {table} ADD CONSTRAINT {_quote(name)} {definition}"
            for table, name, definition, _kind in constraints
        ]
        statements += indexes
        cursor.execute(";\n".join(statements))

        for table in _DATA_TABLES:
            if table not in tables:
                continue
            cursor.execute(
                f"INSERT INTO {_quote(target)}.{_quote(table)} SELECT * FROM {_quote(source)}.{_quote(table)}"
            )
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{_quote(target)}.{_quote(table)}', 'id'), "
                f"COALESCE((SELECT max(id) FROM {_quote(target)}.{_quote(table)}), 0) + 1, false)"
            )
        cursor.execute("SET LOCAL search_path = public")
