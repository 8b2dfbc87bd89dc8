from django.urls import path

from reports import views_console as views

urlpatterns = [
    path("reports/", views.overview, name="reports"),
    path("reports/campaigns/<int:campaign_id>/", views.campaign_dashboard, name="campaign_dashboard"),
    path("reports/exports/", views.export_list, name="report_exports"),
    path("reports/exports/<int:export_id>/progress/", views.export_progress, name="report_export_progress"),
    path("reports/exports/<int:export_id>/link/", views.export_link, name="report_export_link"),
    path("reports/exports/download/", views.export_download, name="report_export_download"),
    path("reports/refresh/", views.fold_now, name="reports_refresh"),
]
