"""A campaign with mixed outcomes, made through the services the flows use: grants with their code
texts, texts sent and receipted, links opened, redemptions, and orders that arrived, failed and
were given back, went to manual review or failed and were retried."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from django.utils import timezone

from campaigns.delivery import grant_codes_send
from campaigns.models import Campaign, Code, Grant
from campaigns.services import grant_create
from fulfillment.models import FulfilmentOrder, OrderEvent, OrderStatus, Redemption
from fulfillment.redemption import Choice, redemption_confirm
from fulfillment.restore import order_restore
from messaging.backends.base import ReceiptEvent
from messaging.models import SmsMessage, SmsStatus
from messaging.services import sms_receipts_apply, sms_send
from reports.fold import h5_open_record
from tests.campaigns.factories import launched_campaign
from tests.conftest import BankUnderTest

BRANCHES = ["BR01"] * 6 + ["BR02"] * 4 + [""] * 2


@dataclass
class Story:
    campaign: Campaign
    grants: list[Grant] = field(default_factory=list)
    phones: dict[int, str] = field(default_factory=dict)


def order_move(order: FulfilmentOrder, to: str, kind: str) -> None:
    """A status change written as the engine writes it: the row and its event."""
    before = order.status
    order.status = to
    order.save(update_fields=["status", "updated_at"])
    OrderEvent.objects.create(order=order, kind=kind, from_status=before, to_status=to)


def story_grants(bank: BankUnderTest, *, sku: str, name: str = "首刷礼", branches: list[str] | None = None) -> Story:
    """Call in the bank's schema: grants (one a day earlier), their texts sent, some receipted."""
    campaign = launched_campaign(bank, sku=sku, name=name, budget_fen=2900 * 100, budget_count=100)
    story = Story(campaign=campaign)
    for index, branch in enumerate(branches or BRANCHES):
        phone = f"139{uuid.uuid4().int % 10**8:08d}"
        result = grant_create(
            campaign_id=campaign.pk, bank=bank.bank, phone=phone, branch_code=branch, actor_label="test"
        )
        grant_codes_send(grant=result.grant, codes=result.codes)
        story.grants.append(result.grant)
        story.phones[result.grant.pk] = phone
        if index == 0:
            Grant.objects.filter(pk=result.grant.pk).update(created_at=timezone.now() - timedelta(days=1))
    messages = list(SmsMessage.objects.filter(campaign_ref=str(campaign.pk), kind="code_delivery").order_by("pk"))
    sms_send(message_ids=[m.pk for m in messages])
    sent = list(SmsMessage.objects.filter(pk__in=[m.pk for m in messages], status=SmsStatus.SENT).order_by("pk"))
    receipts = [
        ReceiptEvent(f"r-{m.pk}", m.provider_message_id, "delivered" if i < 6 else "failed")
        for i, m in enumerate(sent[:8])
    ]
    if sent:
        sms_receipts_apply(backend_name=sent[0].backend, events=receipts)
    return story


def story_redemptions(story: Story) -> None:
    """Opens, redemptions and their orders' outcomes."""
    codes = {c.grant_id: c for c in Code.objects.filter(grant__in=story.grants)}
    for grant in story.grants[:7]:
        h5_open_record(code_id=codes[grant.pk].pk)
    h5_open_record(code_id=codes[story.grants[0].pk].pk)  # opened twice: one code
    product_id = story.campaign.items.get().product_id
    redeemed = story.grants[:9]
    # some codes were usable long before they were redeemed
    Code.objects.filter(pk__in=[codes[g.pk].pk for g in redeemed[:3]]).update(
        valid_from=timezone.now() - timedelta(days=2)
    )
    for grant in redeemed:
        phone = story.phones[grant.pk]
        redemption_confirm(
            code_id=codes[grant.pk].pk,
            phone=phone,
            choices=[Choice(product_id=product_id, account=phone)],
            submission_key=uuid.uuid4().hex,
            ip="127.0.0.1",
        )
    orders = list(
        FulfilmentOrder.objects.filter(campaign=story.campaign).select_related("redemption", "campaign").order_by("pk")
    )
    for order in orders[:4]:  # arrived
        order_move(order, OrderStatus.SUBMITTING, "submitting")
        order_move(order, OrderStatus.SUBMITTED, "attempt_accepted")
        order_move(order, OrderStatus.SUCCEEDED, "succeeded")
    for order in orders[4:6]:  # failed, code and budget given back
        order_move(order, OrderStatus.SUBMITTING, "submitting")
        order_move(order, OrderStatus.FAILED, "failed")
        order_restore(order=order)
    order_move(orders[6], OrderStatus.MANUAL_REVIEW, "manual_review")  # waiting for a human
    order_move(orders[7], OrderStatus.FAILED, "failed")  # failed, then retried and arrived
    order_move(orders[7], OrderStatus.CREATED, "manual_retry")
    order_move(orders[7], OrderStatus.SUCCEEDED, "succeeded")
    # orders[8] is still being fulfilled
    Redemption.objects.filter(pk=orders[0].redemption_id).update(created_at=timezone.now() - timedelta(days=1))
