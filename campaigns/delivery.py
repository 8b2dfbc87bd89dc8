"""Getting a grant's codes to the cardholder: the SMS with the code and a link that needs no typing.

A campaign's own SMS text (`${code}`, `${link}`, `${right_name}`, `${expiry}`) is kept in the bank's
SMS templates under `campaign-<id>`, so the messaging outbox renders, measures and checks it like
any template; without one the bank's `code_delivery` template is used.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from campaigns.codes import code_format
from campaigns.models import Campaign, CampaignStatus, Code, CodeStatus, Grant


def campaign_template_key(campaign: Campaign) -> str:
    return f"campaign-{campaign.pk}"


def campaign_sms_template_sync(*, campaign: Campaign) -> None:
    from messaging.services import template_resolve, template_save

    if not campaign.sms_text.strip():
        return
    signature = template_resolve(key="code_delivery").signature
    template_save(
        key=campaign_template_key(campaign),
        name=f"活动：{campaign.name}"[:100],
        signature=signature,
        text=campaign.sms_text,
    )


def right_name(campaign: Campaign) -> str:
    first = campaign.items.select_related("product").first()
    return first.product.name if first is not None and campaign.items.count() == 1 else campaign.name


def grant_codes_send(*, grant: Grant, codes: list[str]) -> None:
    """Queue the code-delivery SMS for a grant's codes that can be used now (a split right's later
    parts are texted when they come due, by `split_parts_send`), deduplicated per grant and part."""
    now = timezone.now()
    due = dict(grant.codes.filter(valid_from__lte=now + timedelta(days=1)).values_list("part", "id"))
    _send(grant=grant, codes={part: code for part, code in enumerate(codes, start=1) if part in due})


def _send(*, grant: Grant, codes: dict[int, str]) -> None:
    from campaigns.phones import phone_unseal
    from messaging.links import short_link, signed_token_create
    from messaging.models import SmsTemplate
    from messaging.services import sms_enqueue

    if not codes:
        return
    campaign = grant.campaign
    phone = phone_unseal(grant.phone_encrypted)
    key = campaign_template_key(campaign)
    template_key = key if SmsTemplate.objects.filter(key=key).exists() else "code_delivery"
    name = right_name(campaign)
    # the link carries the code's id, never the code: links end up in access logs
    parts = {part: (code_id, until) for code_id, part, until in grant.codes.values_list("id", "part", "valid_until")}
    for part, code in codes.items():
        code_id, until = parts[part]
        token = signed_token_create(
            payload={"k": code_id}, ttl_s=max(60, int((until - timezone.now()).total_seconds()))
        )
        sms_enqueue(
            kind="code_delivery",
            phone=phone,
            template_key=template_key,
            params={
                "code": code_format(code),
                "link": short_link(path="/r/", token=token),
                "right_name": name,
                "expiry": timezone.localtime(until).strftime("%Y-%m-%d"),
            },
            campaign_ref=str(campaign.pk),
            dedupe_key=f"grant-{grant.pk}-part-{part}",
        )


def split_parts_send(*, now: datetime | None = None) -> int:
    """Text the later parts of split rights on the day they become usable (run by `campaigns.tick`).
    Re-running is harmless: each part's text is deduplicated by grant and part."""
    from campaigns.bulk import code_unseal
    from messaging.models import SmsMessage

    now = now or timezone.now()
    due = (
        Code.objects.filter(
            part__gt=1,
            status=CodeStatus.ACTIVE,
            grant__isnull=False,
            valid_from__lte=now + timedelta(days=1),
            valid_from__gt=now - timedelta(days=2),
            campaign__status=CampaignStatus.LIVE,
        )
        .select_related("grant__campaign")
        .order_by("pk")
    )
    sent = 0
    for code in due.iterator(chunk_size=500):
        if SmsMessage.objects.filter(dedupe_key=f"grant-{code.grant_id}-part-{code.part}").exists():
            continue
        _send(grant=code.grant, codes={code.part: code_unseal(code.sealed)})  # type: ignore[arg-type]
        sent += 1
    return sent
