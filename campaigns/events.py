"""Event rows: the story of a campaign and of each code, written in the same transaction as the change."""

from __future__ import annotations

from typing import Any

from campaigns.models import Campaign, CampaignEvent, Code, CodeEvent


def campaign_event(*, campaign: Campaign, kind: str, actor_label: str, data: dict[str, Any] | None = None) -> None:
    CampaignEvent.objects.create(campaign=campaign, kind=kind, actor_label=actor_label, data=data or {})


def code_event(*, code: Code, kind: str, data: dict[str, Any] | None = None) -> None:
    CodeEvent.objects.create(code=code, kind=kind, data=data or {})
