from django.urls import path

from campaigns import views_console as views

urlpatterns = [
    path("campaigns/", views.campaign_list, name="campaign_list"),
    path("campaigns/new/", views.campaign_new, name="campaign_new"),
    path("campaigns/<int:campaign_id>/", views.campaign_detail, name="campaign_detail"),
    path("campaigns/<int:campaign_id>/edit/", views.campaign_edit, name="campaign_edit"),
    path("campaigns/<int:campaign_id>/items/", views.campaign_items, name="campaign_items"),
    path("campaigns/<int:campaign_id>/quotas/", views.campaign_quotas, name="campaign_quotas"),
    path("campaigns/<int:campaign_id>/transition/", views.campaign_transition, name="campaign_transition"),
    path("campaigns/<int:campaign_id>/whitelist/", views.campaign_whitelist, name="campaign_whitelist"),
    path("campaigns/<int:campaign_id>/codes/", views.campaign_code_batch, name="campaign_code_batch"),
    path("campaigns/<int:campaign_id>/export/", views.campaign_export, name="campaign_export"),
    path("progress/<str:kind>/<int:job_id>/", views.job_progress, name="job_progress"),
    path("price-list/", views.price_list, name="price_list"),
    path("users/", views.users, name="users"),
    path("users/<int:user_id>/active/", views.user_active, name="user_active"),
    path("audit/export.csv", views.audit_export, name="audit_export"),
]
