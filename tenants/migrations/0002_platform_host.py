"""The public row (the platform itself) and its host, so that `migrate` alone gives a working console."""

from django.conf import settings
from django.db import migrations


def platform_public_row(apps, schema_editor):  # type: ignore[no-untyped-def]
    Bank = apps.get_model("tenants", "Bank")
    Domain = apps.get_model("tenants", "Domain")
    bank, _ = Bank.objects.get_or_create(schema_name="public", defaults={"slug": "platform", "name": "权益平台"})
    Domain.objects.get_or_create(domain=settings.PLATFORM_HOST, defaults={"tenant": bank, "is_primary": True})


class Migration(migrations.Migration):
    dependencies = [("tenants", "0001_initial")]
    operations = [migrations.RunPython(platform_public_row, migrations.RunPython.noop)]
