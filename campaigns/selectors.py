"""Reads for campaigns."""

from __future__ import annotations

from django.db.models import QuerySet

from campaigns.codes import code_normalize
from campaigns.models import BatchStatus, Campaign, Code, Grant
from platform import crypto


def code_find(*, text: str) -> Code | None:
    """The code a person typed, if it exists and its batch has committed; None otherwise."""
    canonical = code_normalize(text)
    if canonical is None:
        return None
    digest = crypto.digest_bytes(canonical, purpose="code")
    code = Code.objects.filter(digest=digest).select_related("campaign").first()
    if code is None:
        return None
    if code.batch.status != BatchStatus.COMMITTED:
        return None
    return code


def campaigns_for_console(*, status: str = "") -> QuerySet[Campaign]:
    campaigns = Campaign.objects.all()
    if status:
        campaigns = campaigns.filter(status=status)
    return campaigns


def grant_get(*, grant_id: int) -> Grant | None:
    return Grant.objects.filter(pk=grant_id).select_related("campaign").first()
