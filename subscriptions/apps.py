from django.apps import AppConfig


class SubscriptionsConfig(AppConfig):
    name = "subscriptions"
    verbose_name = "Subscriptions"

    def ready(self) -> None:
        # Registers the deploy checks (`manage.py check --deploy`), and the Celery
        # tasks in every process (web included), so the services can enqueue them
        # by name without importing the tasks module.
        from . import checks, tasks  # noqa: F401
