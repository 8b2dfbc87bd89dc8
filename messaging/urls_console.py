from django.urls import path

from messaging import views_console

app_name = "sms_console"
urlpatterns = [
    path("", views_console.overview, name="overview"),
    path("templates/", views_console.templates, name="templates"),
    path("provider/", views_console.provider, name="provider"),
    path("batches/<int:batch_id>/<str:action>/", views_console.batch_action, name="batch_action"),
    path("messages/<int:message_id>/decide/", views_console.message_decide, name="message_decide"),
]
