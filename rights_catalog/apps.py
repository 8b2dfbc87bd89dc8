from django.apps import AppConfig


class RightsCatalogConfig(AppConfig):
    name = "rights_catalog"
