"""Template context every page needs: the site's public address, for absolute links
in Open Graph tags (a shared link's preview) and canonical URLs."""
from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def site(request: HttpRequest) -> dict[str, str]:
    return {"site_url": settings.SITE_URL}
