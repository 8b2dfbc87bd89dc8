from django.urls import path

from accounts import views_api

urlpatterns = [
    path("ping", views_api.ping, name="api_ping"),
]
