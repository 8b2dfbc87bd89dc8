"""Background jobs of reports; each runs in the bank's schema and is safe to repeat."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="reports.fold")
def fold_task() -> None:
    from reports.fold import fold_run

    fold_run()


@shared_task(name="reports.export", acks_late=True)
def export_task(*, export_id: int) -> None:
    from reports.exports import export_run

    export_run(export_id=export_id)
