"""Demo lines for the fulfilment pages (no rows: redemptions on the demo H5 create the orders)."""

from __future__ import annotations

import os

from tenants.models import Bank
from tenants.services import bank_host


def demo_seed(bank: Bank) -> list[str]:
    host = bank_host(bank.slug)
    port = os.environ.get("PORT", "8000")
    return [
        f"  {bank.name}         发放     http://{host}:{port}/console/fulfilment/   事件通知 /console/webhooks/"
        "（订单由 H5 兑换产生，经供应商模拟器发放；人工处理队列在平台 /fulfilment/review/）"
    ]
