"""The benchmarks' baseline: a bare view doing one indexed SELECT and one UPDATE, served only when
`BENCH_BASELINE_VIEW=1` (bench/redeem.py starts the server that way; never in production)."""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, HttpResponse


def baseline(request: HttpRequest, code_id: int) -> HttpResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, redemptions_left FROM campaigns_code WHERE id = %s", [code_id])
        row = cursor.fetchone()
        cursor.execute("UPDATE campaigns_code SET redeemed_at = NULL WHERE id = %s", [code_id])
    return HttpResponse(f"{row[0] if row else 0}")
