from django.apps import AppConfig


class H5TemplatesConfig(AppConfig):
    name = "h5_templates"
    verbose_name = "持卡人 H5"
