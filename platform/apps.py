from django.apps import AppConfig


class PlatformConfig(AppConfig):
    name = "platform"
    label = "platform"
    verbose_name = "Quanyi platform"

    def ready(self) -> None:
        # Bind shared tasks to our Celery app in every process that loads Django.
        from platform import celery  # noqa: F401
