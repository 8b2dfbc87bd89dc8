from django.urls import path

from accounts import views_console

urlpatterns = [
    path("login/", views_console.ConsoleLoginView.as_view(), name="login"),
    path("logout/", views_console.ConsoleLogoutView.as_view(), name="logout"),
    path("", views_console.home, name="home"),
    path("api-keys/", views_console.api_keys, name="api_keys"),
    path("api-keys/<str:key_id>/revoke/", views_console.api_key_revoke_view, name="api_key_revoke"),
    path("audit/", views_console.audit_log, name="audit_log"),
]
