"""A real headless Chromium for the browser tests, and what they check with it.

- `browser`: a pytest fixture (import it into the test module): Debian's chromium
  and chromedriver through Selenium, headless, a fresh profile per test.
- `at_width`: phone (390×844, mobile emulation) or desktop (1280×900).
- `assert_accessible`: axe-core (the npm package, pinned in package.json and
  installed by `make browser-deps` into node_modules/) injected into the page: no
  serious or critical violation of WCAG 2.0–2.2 A/AA; plus every tap target at
  least 24×24 CSS px (WCAG 2.2, 2.5.8) except links inside a sentence.
- `screenshot`: PNGs under var/screenshots/ for a person to look at.
"""
from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

import pytest
from django.conf import settings
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from tests.conftest import REPO, require_service

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"
VIEWPORTS = {"phone": (390, 844), "desktop": (1280, 900)}
# What "accessible" means here: WCAG 2.0, 2.1 and 2.2 at levels A and AA.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
BLOCKING_IMPACTS = {"serious", "critical"}
MIN_TARGET_PX = 24


@pytest.fixture
def browser(tmp_path):
    require_service(Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists(),
                    "chromium and chromedriver not installed (make system-deps)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", f"--user-data-dir={tmp_path / 'chrome-profile'}", "--window-size=1280,900",
                 "--lang=en-US"):
        options.add_argument(flag)
    # The console, for csp_violations(): Chromium logs each blocked script or style there.
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def csp_violations(driver) -> list[str]:
    """Console messages about the Content-Security-Policy blocking something since the last call."""
    return [entry["message"] for entry in driver.get_log("browser") if "Content Security Policy" in entry["message"]]


def at_width(driver, label: str) -> None:
    """Emulate the phone (mobile viewport, 390×844) or the desktop (1280×900) for what follows."""
    width, height = VIEWPORTS[label]
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": height, "deviceScaleFactor": 1, "mobile": label == "phone",
    })


def reset_width(driver) -> None:
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def save_png(driver, path: Path, *, full_page: bool = True) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": full_page})
    path.write_bytes(base64.b64decode(shot["data"]))
    return path


def screenshot(driver, name: str) -> None:
    """Full-page PNGs at 390 px (as a phone: mobile viewport) and 1280 px."""
    for label, (width, _) in VIEWPORTS.items():
        at_width(driver, label)
        save_png(driver, SCREENSHOTS / f"{name}-{label}-{width}.png")
    reset_width(driver)


def axe_violations(driver) -> list[dict]:
    """axe-core's serious and critical violations on the current page, as it is now."""
    require_service(AXE.exists(), f"axe-core not installed at {AXE} (make browser-deps)")
    if not driver.execute_script("return typeof window.axe === 'object'"):
        driver.execute_script(AXE.read_text(encoding="utf-8"))
    driver.set_script_timeout(60)
    result = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {runOnly: {type: 'tag', values: arguments[0]}, resultTypes: ['violations']})"
        "  .then(r => done(JSON.stringify(r.violations)), e => done(JSON.stringify({error: String(e)})));",
        AXE_TAGS,
    )
    violations = json.loads(result)
    if isinstance(violations, dict):
        raise AssertionError(f"axe-core failed: {violations['error']}")
    return [v for v in violations if v.get("impact") in BLOCKING_IMPACTS]


# Buttons, links, fields and toggles a finger aims at. A link inside a sentence is
# exempt (WCAG 2.5.8 "inline"): its block has more text than the link itself.
_SMALL_TARGETS_JS = """
const min = arguments[0];
const targets = document.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea, summary');
const small = [];
for (const el of targets) {
  if (el.closest('[aria-hidden="true"], .visually-hidden, .sub-honeypot')) continue;
  const box = el.getBoundingClientRect();
  if (box.width === 0 || box.height === 0) continue;  // not rendered
  let target = box;
  if (el.matches('input[type=radio], input[type=checkbox]') && el.labels && el.labels.length) {
    // The label is part of the target: a tap on it toggles the box.
    const label = el.labels[0].getBoundingClientRect();
    target = {width: label.right - Math.min(box.left, label.left), height: Math.max(box.height, label.height)};
  }
  if (target.width >= min && target.height >= min) continue;
  if (el.tagName === 'A') {
    const block = el.parentElement.closest('p, li, td, dd, span.sub-help, div');
    if (block && block.textContent.trim().length > el.textContent.trim().length + 1) continue;
  }
  small.push(`${el.tagName.toLowerCase()} "${(el.textContent || el.name || el.id).trim().slice(0, 40)}"`
             + ` ${Math.round(target.width)}×${Math.round(target.height)}`);
}
return small;
"""


def small_tap_targets(driver) -> list[str]:
    return driver.execute_script(_SMALL_TARGETS_JS, MIN_TARGET_PX)


def overflowing_width(driver) -> int:
    """How many CSS px the page is wider than its viewport (0 when it fits)."""
    return driver.execute_script(
        "return Math.max(0, document.documentElement.scrollWidth - document.documentElement.clientWidth);"
    )


def assert_accessible(driver, where: str) -> None:
    """axe-core and the tap-target check on the current page, at phone and desktop widths."""
    problems = []
    for label in VIEWPORTS:
        at_width(driver, label)
        for violation in axe_violations(driver):
            nodes = "; ".join(" ".join(node["target"]) for node in violation["nodes"][:5])
            problems.append(f"{label}: axe {violation['id']} ({violation['impact']}): {violation['help']} at {nodes}")
        problems += [f"{label}: tap target under {MIN_TARGET_PX} px: {t}" for t in small_tap_targets(driver)]
        if label == "phone" and overflowing_width(driver):
            problems.append(f"phone: the page is {overflowing_width(driver)} px wider than the screen")
    reset_width(driver)
    assert not problems, f"{where}:\n" + "\n".join(problems)


def checked(driver, name: str) -> None:
    """Screenshots of the page at both widths, then axe-core and the tap-target check on it."""
    screenshot(driver, name)
    assert_accessible(driver, name)


def wait_for(driver, css: str, text: str | None = None, timeout: float = 10):
    """The element once it is visible, or once it holds `text`."""
    wait = WebDriverWait(driver, timeout)
    if text is None:
        return wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, css)))
    wait.until(ec.text_to_be_present_in_element((By.CSS_SELECTOR, css), text))
    return driver.find_element(By.CSS_SELECTOR, css)


def page_text(driver) -> str:
    return driver.find_element(By.TAG_NAME, "main").text
