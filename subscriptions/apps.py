from django.apps import AppConfig


class SubscriptionsConfig(AppConfig):
    name = "subscriptions"
    verbose_name = "Subscriptions"

    def ready(self) -> None:
        # Register the Celery tasks in every process (web included), so the
        # services can enqueue them by name without importing this module.
        from . import tasks  # noqa: F401
