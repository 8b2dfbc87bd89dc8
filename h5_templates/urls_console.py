from django.urls import path

from h5_templates import views_console

urlpatterns = [
    path("branding/", views_console.branding, name="branding"),
]
