"""Background jobs of campaigns; each takes ids, runs in the bank's schema and is safe to repeat."""

from __future__ import annotations

from celery import shared_task

from campaigns.progress import progress_set


@shared_task(name="campaigns.code_batch_generate", acks_late=True)
def code_batch_generate_task(*, batch_id: int) -> None:
    from campaigns.models import CodeBatch
    from campaigns.services import code_batch_generate

    total = CodeBatch.objects.get(pk=batch_id).requested_count
    code_batch_generate(
        batch_id=batch_id,
        progress=lambda done: progress_set("codes", batch_id, done=done, total=total, phase="generating"),
    )
    progress_set("codes", batch_id, done=total, total=total, phase="done")


@shared_task(name="campaigns.whitelist_import", acks_late=True)
def whitelist_import_task(*, import_id: int) -> None:
    from campaigns.whitelist import whitelist_import_run

    whitelist_import_run(import_id=import_id)


@shared_task(name="campaigns.tick")
def campaigns_tick_task() -> None:
    from campaigns.services import campaigns_tick

    campaigns_tick()
