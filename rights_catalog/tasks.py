"""Periodic supplier health check: balance refresh and alerts, once per interval platform-wide.

Beat sends periodic tasks to every active bank (platform.beat); suppliers are public, so the first
copy to take the Redis lease does the work and the others return at once."""

from __future__ import annotations

import logging

from celery import shared_task
from django_tenants.utils import schema_context

from platform.redis import get_redis

logger = logging.getLogger(__name__)

HEALTH_CHECK_INTERVAL_S = 300


@shared_task(name="rights_catalog.suppliers_health_check", ignore_result=True)
def suppliers_health_check() -> int:
    if not get_redis().set("rights_catalog:health-check-lease", "1", nx=True, ex=HEALTH_CHECK_INTERVAL_S - 10):
        return 0
    from rights_catalog.models import Supplier, SupplierStatus
    from rights_catalog.services import supplier_health_check

    checked = 0
    with schema_context("public"):
        for supplier in Supplier.objects.filter(status=SupplierStatus.ACTIVE):
            try:
                supplier_health_check(supplier=supplier)
                checked += 1
            except Exception:
                logger.exception("health check of supplier %s failed", supplier.code)
    return checked
