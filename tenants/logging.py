"""Every log line carries the schema (bank) it was written in."""

import logging


class BankContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            from django.db import connection

            record.schema_name = getattr(connection, "schema_name", "-")
        except Exception:  # noqa: BLE001 - logging must never fail because settings are not ready
            record.schema_name = "-"
        return True
