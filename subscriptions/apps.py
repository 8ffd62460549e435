from django.apps import AppConfig


class SubscriptionsConfig(AppConfig):
    name = "subscriptions"
    verbose_name = "Subscriptions"

    def ready(self) -> None:
        # Registers the deploy checks (`manage.py check --deploy`).
        from . import checks  # noqa: F401
