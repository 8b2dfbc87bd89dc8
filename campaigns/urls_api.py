from django.urls import path

from campaigns import openapi, views_api

urlpatterns = [
    path("grants", views_api.grants_create, name="api_grants"),
    path("grants/<int:grant_id>", views_api.grants_detail, name="api_grant"),
    path("openapi.json", openapi.openapi_json, name="api_openapi"),
    path("docs", openapi.api_docs, name="api_docs"),
]
