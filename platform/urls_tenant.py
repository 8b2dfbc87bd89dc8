"""URLs of a bank's hosts (its schema): cardholder H5 pages, the card-centre console, the bank API."""

from django.conf import settings
from django.urls import URLPattern, URLResolver, include, path

from platform.health import healthz, readyz

urlpatterns: list[URLPattern | URLResolver] = [
    path("healthz", healthz),
    path("readyz", readyz),
    path("i18n/", include("django.conf.urls.i18n")),
    path("console/billing/", include("billing.urls_console")),
    path("console/", include("platform.urls_console")),
    path("api/v1/", include("campaigns.urls_api")),
    path("api/v1/", include("accounts.urls_api")),
    path("", include("messaging.urls")),
    path("", include("fulfillment.callbacks")),
    path("", include("h5_templates.urls")),
]

if settings.BENCH_BASELINE_VIEW:
    from platform.bench_views import baseline

    urlpatterns.insert(0, path("bench/baseline/<int:code_id>", baseline))
