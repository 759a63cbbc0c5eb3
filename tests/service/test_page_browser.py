"""The enterprise page in a real headless browser (Debian's chromium driven by Selenium): sign
in with an enterprise key, read score, grade, chart, recourse and listings in Chinese, switch to
English; sign in and out, the cookie's flags, a cross-origin sign-in refused. Screenshots go to
``test-artifacts/``. In CI (``CI=true``) a missing chromium fails."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy.orm import Session

from experiments.simulate import World, write_world
from service.engine.decisions import Scorer
from service.engine.keys import create_key
from service.http.app import create_app
from service.store.db import make_engine
from tests.service.conftest import AS_OF, Province, _load, settings_for

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")


def _browser():  # type: ignore[no-untyped-def]
    fc_list = shutil.which("fc-list")
    fonts = fc_list and subprocess.run([fc_list, ":lang=zh"], capture_output=True, text=True).stdout
    if not (CHROMIUM and DRIVER and fonts and fonts.strip()):
        message = "chromium, chromedriver and a CJK font are needed: run tests/browser/install.sh"
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--window-size=1280,1500",
        "--disable-dev-shm-usage",
        "--lang=zh-CN",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    # a loaded machine may still be navigating when the next element is asked for: wait for it
    driver.implicitly_wait(30)
    return driver


@pytest.fixture
def served(world: World, scorer: Scorer, tmp_path: Path) -> Iterator[tuple[str, Province]]:
    """The app on a free port of 127.0.0.1, over its own loaded SQLite file."""
    write_world(world, tmp_path / "province", "csv")
    province = _load(make_engine(f"sqlite:///{tmp_path / 'page.db'}"), tmp_path / "province")
    settings = settings_for(tmp_path)
    # plain HTTP on 127.0.0.1, as `safecredit serve` allows there: cookies without Secure
    service = settings.service.model_copy(update={"plain_http": True})
    settings = settings.model_copy(update={"service": service})
    app = create_app(settings, engine=province.engine, scorer=scorer)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", province
    server.should_exit = True
    thread.join(10)
    province.engine.dispose()


def test_the_enterprise_page_in_a_real_browser(served: tuple[str, Province]) -> None:
    base, province = served
    driver = _browser()
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    with Session(province.engine) as session, session.begin():
        _, token = create_key(session, role="enterprise", uscc=province.listed, name="page test")
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        driver.get(f"{base}/enterprises/{province.listed}?as_of={AS_OF}")
        assert "/login" in driver.current_url  # no key yet: the sign-in form
        driver.find_element(By.ID, "key").send_keys(token)
        driver.find_element(By.ID, "sign-in").click()
        assert driver.find_element(By.ID, "grade").text.startswith("D")
        score = int(driver.find_element(By.ID, "score").text)
        assert 0 <= score <= 1000
        assert driver.find_element(By.ID, "as-of").text == AS_OF.isoformat()
        bars = driver.find_elements(By.CSS_SELECTOR, "#chart .bar")
        assert bars and all(b.find_element(By.CSS_SELECTOR, ".label").text for b in bars)
        # the bars are drawn (their style admitted by the Content-Security-Policy's nonce)
        drawn = driver.find_elements(By.CSS_SELECTOR, "#chart .bar rect")
        assert drawn and all(r.rect["width"] > 0 for r in drawn)
        listing = driver.find_element(
            By.CSS_SELECTOR, f"tr.listing[data-entry='{province.entry_id}']"
        )
        assert "S" in listing.text and listing.find_element(By.CSS_SELECTOR, ".earliest").text
        assert "失信联合惩戒名单" in driver.page_source
        # the layout is a page, not a dump: the score card and the chart sit side by side
        card = driver.find_element(By.ID, "score-card").rect
        chart = driver.find_element(By.ID, "chart").rect
        assert card["y"] == pytest.approx(chart["y"], abs=2) and chart["x"] > card["x"]
        driver.save_screenshot(str(ARTIFACTS / "enterprise-page-zh.png"))
        driver.find_element(By.ID, "lang-en").click()
        WebDriverWait(driver, 30).until(lambda d: "Joint-punishment listings" in d.page_source)
        assert "Joint-punishment listings" in driver.page_source
        assert "What raised and lowered the score" in driver.page_source
        driver.save_screenshot(str(ARTIFACTS / "enterprise-page-en.png"))
        other = province.unlisted
        driver.get(f"{base}/enterprises/{other}?lang=en")  # another enterprise: refused
        WebDriverWait(driver, 30).until(lambda d: "/enterprises/" + other in d.current_url)
        assert "You may not see this enterprise" in driver.find_element(By.ID, "message").text
    finally:
        driver.quit()


def test_sign_in_and_out_in_a_real_browser(served: tuple[str, Province]) -> None:
    """The cookie holds a session id with HttpOnly and SameSite=Strict (no Secure: plain HTTP
    on 127.0.0.1 is allowed by the setting); signing out ends it; a sign-in posted from
    another origin is refused."""
    base, province = served
    driver = _browser()
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    with Session(province.engine) as session, session.begin():
        _, token = create_key(session, role="regulator", name="browser sign-in test")
    ARTIFACTS.mkdir(exist_ok=True)
    page = f"{base}/enterprises/{province.listed}?as_of={AS_OF}&lang=en"
    try:
        driver.get(page)
        assert "/login" in driver.current_url
        driver.find_element(By.ID, "key").send_keys(token)
        driver.find_element(By.ID, "sign-in").click()
        WebDriverWait(driver, 30).until(lambda d: "/enterprises/" in d.current_url)
        assert driver.find_element(By.ID, "grade").text
        cookies = {c["name"]: c for c in driver.get_cookies()}
        signed = cookies["safecredit_session"]
        assert signed["httpOnly"] and signed["sameSite"] == "Strict" and not signed["secure"]
        assert signed["value"] != token and token.split("_", 2)[2] not in signed["value"]
        csrf = cookies["safecredit_csrf"]
        assert csrf["httpOnly"] and csrf["sameSite"] == "Strict"
        # the page can't read its cookies (HttpOnly), and runs no script of its own
        assert driver.execute_script("return document.cookie") == ""
        flags = ", ".join(
            f"{name}: HttpOnly={c['httpOnly']} SameSite={c['sameSite']} Secure={c['secure']}"
            for name, c in sorted(cookies.items())
        )
        driver.execute_script(  # a caption on the screenshot (the test's script, not the page's)
            "const p = document.createElement('pre'); p.id = 'cookie-flags';"
            "p.textContent = arguments[0]; p.style.cssText = 'background:#ffd;padding:8px';"
            "document.body.prepend(p);",
            flags,
        )
        driver.save_screenshot(str(ARTIFACTS / "sign-in-cookie-flags.png"))
        driver.find_element(By.ID, "sign-out").click()
        WebDriverWait(driver, 30).until(lambda d: "/login" in d.current_url)
        assert "safecredit_session" not in {c["name"] for c in driver.get_cookies()}
        driver.add_cookie({"name": "safecredit_session", "value": signed["value"]})  # replayed
        driver.get(page)
        WebDriverWait(driver, 30).until(lambda d: "/login" in d.current_url)
        assert driver.find_element(By.ID, "sign-in")
        driver.save_screenshot(str(ARTIFACTS / "signed-out.png"))
    finally:
        driver.quit()
    # another origin posting the sign-in form, as a page of evil.example would make a browser do
    form = urllib.parse.urlencode({"key": token, "next": "/"}).encode()
    request = urllib.request.Request(
        f"{base}/login", data=form, headers={"Origin": "http://evil.example"}, method="POST"
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 403
    assert "safecredit_session" not in (refused.value.headers.get("set-cookie") or "")
