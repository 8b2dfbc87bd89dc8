"""URLs of the platform's own host (public schema): the platform console."""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from platform.health import healthz, readyz

admin.site.site_header = "权益平台 · 运营控制台"
admin.site.site_title = "权益平台"
admin.site.index_title = "平台管理"

urlpatterns = [
    path("healthz", healthz),
    path("readyz", readyz),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("billing/", include("billing.urls_public")),
    path("fulfilment/", include("fulfillment.urls_public")),
    path("operations/", include("reports.views_platform")),
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
]
