"""System checks for subscriptions' production settings (`manage.py check --deploy`)."""
from __future__ import annotations

from django.core.checks import Error, Tags, register

from .webhooks import configured_esp, webhook_refusal, webhook_view_class


@register(Tags.security, deploy=True)
def check_webhook_secured(app_configs=None, **kwargs) -> list[Error]:
    """An ESP without its webhook secret would either refuse every event or accept forged ones."""
    esp = configured_esp()
    view_class = webhook_view_class(esp) if esp else None
    refusal = webhook_refusal(view_class) if view_class else ""
    if not refusal:
        return []
    return [Error(
        f"Mail goes through {esp}, but its tracking webhook is not secured: {refusal}.",
        hint="Set ANYMAIL_WEBHOOK_SECRET=user:password and give the provider "
        f"https://user:password@<your host>/anymail/{esp}/tracking/ (plus the ESP's signing key, "
        "e.g. anymail://mailgun?...&webhook_signing_key=..., where it has one). See docs/operations.md.",
        id="subscriptions.E001",
    )]
