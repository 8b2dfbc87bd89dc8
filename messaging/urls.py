"""Routes of messaging on a bank's host: console pages, delivery receipts, short links."""

from django.urls import include, path

from messaging import views

urlpatterns = [
    path("console/sms/", include("messaging.urls_console")),
    path("sms/receipts/<slug:backend>/<str:token>/", views.receipt, name="sms_receipt"),
    path("s/<str:token>", views.short_redirect, name="sms_short_link"),
]
