from django.urls import path

from h5_templates import views

app_name = "h5"
urlpatterns = [
    path("", views.landing, name="landing"),
]
