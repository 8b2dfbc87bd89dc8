from django.urls import path

from billing import views_console

app_name = "billing"
urlpatterns = [
    path("", views_console.billing_home, name="home"),
    path("statements/<int:statement_id>/download/", views_console.statement_download, name="statement_download"),
]
