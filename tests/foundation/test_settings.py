"""Production settings pass Django's deployment checks; periodic jobs fan out to active banks only."""

from __future__ import annotations

import subprocess
import sys

from tenants.models import Bank, BankStatus
from tenants.services import bank_suspend
from tests.conftest import BankUnderTest
from tests.support.processes import ROOT, process_env


def test_check_deploy_is_clean_for_production_settings() -> None:
    env = process_env(
        QUANYI_ENV="production",
        SECRET_KEY="x" * 64 + "-production-secret-for-the-check",
        PII_ENCRYPTION_KEYS="cHJvZHVjdGlvbi1waWkta2V5LWZvci10aGUtY2hlY2s=",
        PII_DIGEST_KEY="production-digest-key",
        API_KEY_PEPPER="production-pepper",
        PLATFORM_HOST="quanyi.example.com",
        ALLOWED_HOSTS=".quanyi.example.com",
    )
    completed = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "no issues" in completed.stdout


def test_production_refuses_to_start_without_its_secrets() -> None:
    env = process_env(QUANYI_ENV="production")
    env.pop("SECRET_KEY", None)
    completed = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert completed.returncode != 0 and "SECRET_KEY must be set" in completed.stderr


def test_bank_wide_periodic_jobs_go_to_active_banks_only(bank_a: BankUnderTest, bank_b: BankUnderTest) -> None:
    from platform.beat import BankAwareScheduler

    assert set(BankAwareScheduler.get_queryset().values_list("slug", flat=True)) >= {"alpha", "beta"}
    bank_suspend(bank=bank_b.bank, reason="欠费")
    schemas = set(BankAwareScheduler.get_queryset().values_list("schema_name", flat=True))
    assert "bank_alpha" in schemas and "bank_beta" not in schemas
    assert not schemas & set(Bank.objects.exclude(status=BankStatus.ACTIVE).values_list("schema_name", flat=True))
    assert "public" not in schemas
