"""Demo data: each demo bank gets its SMS templates, signed with its own name; texts go to the
console backend (the log) unless the bank picks a provider."""

from __future__ import annotations

from messaging.models import SmsTemplate
from messaging.texts import DEFAULT_TEMPLATES
from tenants.models import Bank


def demo_seed(bank: Bank) -> list[str]:
    signature = bank.name[:12]
    for key, (name, text) in DEFAULT_TEMPLATES.items():
        SmsTemplate.objects.get_or_create(key=key, defaults={"name": name, "signature": signature, "text": text})
    return [
        f"{bank.name}：短信模板 {len(DEFAULT_TEMPLATES)} 个，控制台后端（短信内容打印在日志中），页面 /console/sms/"
    ]
