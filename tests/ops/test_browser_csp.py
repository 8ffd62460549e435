"""The Content-Security-Policy breaks nothing (issue 11, item 9): our pages and the admin in a real
headless Chromium, with the console checked for anything the policy blocked, and the scripts that
matter seen working (the live keyword preview, the admin's own scripts)."""
from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model

from subscriptions.services.subscribers import subscriber_link
from tests.browser import browser, csp_violations, wait_for  # noqa: F401 - the pytest fixture
from tests.factories import KeywordFactory, ListingFactory, PaperFactory, SubscriberFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_pages_and_admin_work_under_the_policy(browser, live_server, settings):  # noqa: F811
    from selenium.webdriver.common.by import By

    settings.SITE_URL = live_server.url
    paper = PaperFactory(title="Scaling Diffusion Transformers to Video", abstract="We scale diffusion.")
    ListingFactory(paper=paper, listed_on=dt.date.today())
    reader = SubscriberFactory(email="ada@example.org")
    KeywordFactory(subscriber=reader, text="diffusion")
    get_user_model().objects.create_superuser("editor", "editor@example.org", "a-long-editor-password")
    blocked = {}

    def visit(path: str) -> None:
        browser.get(live_server.url + path)
        blocked[path] = csp_violations(browser)

    # Our pages, and the one script that matters on them: the live keyword preview.
    visit("/")
    visit(f"/papers/{paper.pk}/")
    visit("/subscribe/")
    browser.find_element(By.ID, "sub-keywords").send_keys("diffusion")
    assert "Scaling Diffusion Transformers" in wait_for(browser, "#sub-keywords-preview", "Scaling Diffusion").text
    blocked["/subscribe/ (preview)"] = csp_violations(browser)
    visit(subscriber_link(reader, "manage").removeprefix(live_server.url))
    assert "diffusion" in browser.find_element(By.ID, "id_keywords").get_attribute("value")

    # The admin: a real login through the form, then the screens editors use.
    visit("/admin/login/")
    browser.find_element(By.ID, "id_username").send_keys("editor")
    browser.find_element(By.ID, "id_password").send_keys("a-long-editor-password")
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    assert "editor" in wait_for(browser, "#user-tools", "EDITOR").text.lower()  # "Welcome, editor" (upper-cased by CSS)
    for path in ("/admin/", "/admin/papers/paper/", f"/admin/papers/paper/{paper.pk}/change/",
                 "/admin/subscriptions/subscriber/", f"/admin/subscriptions/subscriber/{reader.pk}/change/",
                 "/admin/subscriptions/digest/", "/admin/subscriptions/deliveryevent/health/",
                 f"/admin/subscriptions/digest/preview/?subscriber={reader.pk}&date={dt.date.today()}"):
        visit(path)
    # The admin's own scripts ran: the changelist's "select all" checkbox selects the rows.
    browser.get(live_server.url + "/admin/papers/paper/")
    browser.find_element(By.ID, "action-toggle").click()
    assert browser.find_element(By.CSS_SELECTOR, "input.action-select").is_selected()
    blocked["/admin/papers/paper/ (actions)"] = csp_violations(browser)

    assert {path: found for path, found in blocked.items() if found} == {}


def test_every_page_carries_the_policy(client, admin_client):
    for response in (client.get("/"), client.get("/subscribe/"), client.get("/admin/login/"),
                     admin_client.get("/admin/papers/paper/"), client.get("/no-such-page/")):
        policy = response["Content-Security-Policy"]
        assert "default-src 'self'" in policy and "script-src 'self'" in policy
        assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
        assert "unsafe-inline" not in policy.split("style-src-attr")[0]
