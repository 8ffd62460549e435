"""EMAIL_URL -> Django email settings: SMTP in its usual forms, or any django-anymail ESP.

Forms (user and password percent-encoded when they hold ``@``, ``:`` or ``/``):

    smtp://HOST[:PORT]                    plain SMTP (port 25); Mailpit: smtp://mailpit:1025
    smtp://USER:PASSWORD@HOST:587         plain SMTP with login
    smtp+tls://USER:PASSWORD@HOST[:587]   STARTTLS
    smtps://USER:PASSWORD@HOST[:465]      implicit TLS (also spelled smtp+ssl://)
    anymail://ESP?KEY=VALUE&...           an ESP through django-anymail; each KEY becomes
                                          ANYMAIL["<ESP>_<KEY>"], e.g.
        anymail://postmark?server_token=abc
        anymail://mailgun?api_key=key-1&sender_domain=mg.example.org&webhook_signing_key=whk
        anymail://sendgrid?api_key=SG.xyz
        anymail://amazon_ses               (credentials from the usual AWS_* variables; needs boto3)
    console://                            print messages to stdout (debugging only)

We parse this ourselves rather than with django-environ's email_url_config:
environ knows no ESPs, and it maps smtps:// to STARTTLS on port 465, which no
server speaks; here smtps:// means implicit TLS, as in every mail client.
"""
from __future__ import annotations

import pkgutil
from urllib.parse import parse_qsl, unquote, urlsplit

SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"

# scheme -> (default port, EMAIL_USE_TLS, EMAIL_USE_SSL)
_SMTP_SCHEMES = {
    "smtp": (25, False, False),
    "smtp+tls": (587, True, False),
    "smtps": (465, False, True),
    "smtp+ssl": (465, False, True),
}
# Modules of anymail.backends that are not an ESP.
_NOT_ESPS = {"base", "base_requests", "console", "test"}


class EmailURLError(ValueError):
    """The URL cannot be turned into mail settings; the message says why."""


def anymail_esps() -> list[str]:
    """The ESP names this django-anymail knows (its backend modules)."""
    import anymail.backends

    return sorted(m.name for m in pkgutil.iter_modules(anymail.backends.__path__) if m.name not in _NOT_ESPS)


def email_url_settings(url: str) -> dict:
    """Django settings (EMAIL_BACKEND, EMAIL_HOST..., ANYMAIL) for one EMAIL_URL.

    Raises EmailURLError for anything it cannot use; never guesses a default backend.
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme in _SMTP_SCHEMES:
        return _smtp_settings(parts, scheme)
    if scheme == "anymail":
        return _anymail_settings(parts)
    if scheme == "console":
        return {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}
    known = ", ".join([*_SMTP_SCHEMES, "anymail", "console"])
    raise EmailURLError(f"unknown scheme {parts.scheme!r} (use one of {known})")


def _smtp_settings(parts, scheme: str) -> dict:
    default_port, use_tls, use_ssl = _SMTP_SCHEMES[scheme]
    if not parts.hostname:
        raise EmailURLError("an SMTP URL needs a host, e.g. smtp://mailpit:1025")
    try:
        port = parts.port or default_port
    except ValueError as exc:  # port out of range or not a number
        raise EmailURLError(str(exc)) from None
    options = dict(parse_qsl(parts.query))
    if set(options) - {"timeout"}:
        raise EmailURLError(f"unknown SMTP option(s): {', '.join(sorted(set(options) - {'timeout'}))}")
    result = {
        "EMAIL_BACKEND": SMTP_BACKEND,
        "EMAIL_HOST": parts.hostname,
        "EMAIL_PORT": port,
        "EMAIL_HOST_USER": unquote(parts.username or ""),
        "EMAIL_HOST_PASSWORD": unquote(parts.password or ""),
        "EMAIL_USE_TLS": use_tls,
        "EMAIL_USE_SSL": use_ssl,
    }
    if "timeout" in options:
        try:
            result["EMAIL_TIMEOUT"] = int(options["timeout"])
        except ValueError:
            raise EmailURLError(f"timeout={options['timeout']!r} is not a whole number of seconds") from None
    return result


def _anymail_settings(parts) -> dict:
    # The ESP is the URL's "host"; accept amazon-ses for amazon_ses.
    esp = (parts.netloc or parts.path.lstrip("/")).split("@")[-1].lower().replace("-", "_")
    esps = anymail_esps()
    if esp not in esps:
        raise EmailURLError(f"unknown ESP {esp!r} for anymail:// (django-anymail knows: {', '.join(esps)})")
    try:
        options = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
    except ValueError as exc:
        raise EmailURLError(f"bad query string: {exc}") from None
    anymail = {}
    for key, value in options:
        if not key.replace("_", "").isalnum():
            raise EmailURLError(f"bad anymail option name {key!r}")
        anymail[f"{esp.upper()}_{key.upper()}"] = value
    return {"EMAIL_BACKEND": f"anymail.backends.{esp}.EmailBackend", "ANYMAIL": anymail}
