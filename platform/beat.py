"""Celery beat's scheduler: each bank-wide periodic task is sent once per active bank.

Imported by beat only (after Django is set up): tenant-schemas-celery's scheduler needs the models.
"""

from __future__ import annotations

from django.db.models import QuerySet
from tenant_schemas_celery.scheduler import TenantAwarePersistentScheduler


class BankAwareScheduler(TenantAwarePersistentScheduler):
    """Never sends to the template or to a suspended bank."""

    @classmethod
    def get_queryset(cls) -> QuerySet:
        from tenants.models import Bank

        return Bank.objects.active()
