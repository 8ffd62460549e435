from django.apps import AppConfig


class DigestsConfig(AppConfig):
    name = "digests"
    verbose_name = "Digests"

    def ready(self) -> None:
        # Register the Celery tasks in every process (web included), so the
        # services can enqueue them by name without importing this module.
        from . import tasks  # noqa: F401
