"""The Celery app: tenant-aware (tasks run in the schema they were sent from) with declared queues.

Periodic jobs are declared with `bank_periodic(...)` in `CELERY_BEAT_SCHEDULE` and fan out to every
active bank through `platform.beat.BankAwareScheduler`.
"""

from __future__ import annotations

import os

from kombu import Queue
from tenant_schemas_celery.app import CeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "platform.settings")

QUEUES = ("default", "fulfilment", "queries", "callbacks", "sms", "bulk", "billing")

app = CeleryApp("quanyi")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = [Queue(name) for name in QUEUES]
app.autodiscover_tasks()
