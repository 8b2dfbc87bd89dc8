from django.urls import path

from h5_templates import views
from reports.h5 import counts_h5_opens

app_name = "h5"
urlpatterns = [
    path("", views.landing, name="landing"),
    path("r/<str:token>", counts_h5_opens(views.link), name="link"),
    path("redeem/", views.start, name="start"),
    path("redeem/verify/", views.verify, name="verify"),
    path("redeem/choose/", views.choose, name="choose"),
    path("redeem/confirm/", views.confirm, name="confirm"),
    path("p/<str:token>/", views.progress, name="progress"),
    path("p/<str:token>/check/", views.not_received, name="not_received"),
    path("mine/", views.mine, name="mine"),
]
