"""The approval-office and insurer desks in a real headless browser (Debian's chromium through
Selenium, as the enterprise page's test): an approval office uploads 1,000 codes of the seeded
province and downloads the answers; an insurer uploads a renewal book with bad rows, sees them
refused with reasons and downloads the quotes. Screenshots of both desks at 1280 and 390 px go to
``test-artifacts/``; at 390 px no page is wider than the window."""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path

from sqlalchemy.orm import Session

from experiments.simulate import World
from service.engine.keys import create_key
from tests.service.conftest import AS_OF, Province
from tests.service.test_page_browser import ARTIFACTS, _browser, served

__all__ = ["served"]  # the fixture, shared with the enterprise page's browser test
WIDTHS = (1280, 390)


def _sign_in(driver, base: str, path: str, token: str) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(f"{base}{path}")
    assert "/login" in driver.current_url
    driver.find_element(By.ID, "key").send_keys(token)
    driver.find_element(By.ID, "sign-in").click()
    WebDriverWait(driver, 30).until(
        lambda d: path in d.current_url and "/login" not in d.current_url
    )


def _downloaded(folder: Path, suffix: str) -> Path:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        done = [p for p in folder.glob(f"*{suffix}") if not p.name.endswith(".crdownload")]
        if done:
            return done[0]
        time.sleep(0.2)
    raise AssertionError(f"no {suffix} file was downloaded into {folder}")


def _shots(driver, name: str, at: str | None = None) -> None:  # type: ignore[no-untyped-def]
    """Screenshots at each width (scrolled to the element ``at``); at 390 px the page must not
    be wider than the window."""
    ARTIFACTS.mkdir(exist_ok=True)
    for width in WIDTHS:
        driver.set_window_size(width, 1400)
        time.sleep(0.3)
        if at is not None and width < 800:
            driver.execute_script("document.getElementById(arguments[0]).scrollIntoView()", at)
        inner = driver.execute_script("return window.innerWidth")
        wide = driver.execute_script("return document.documentElement.scrollWidth")
        assert wide <= inner + 1, f"{name} at {width} px: the page is {wide} px wide"
        driver.save_screenshot(str(ARTIFACTS / f"{name}-{width}.png"))
    driver.set_window_size(1280, 1500)


def _key(province: Province, role: str) -> str:
    with Session(province.engine) as session, session.begin():
        _, token = create_key(session, role=role, name=f"{role} desk test")
    return token


def test_an_approval_office_checks_1000_codes_and_downloads_the_answers(
    served: tuple[str, Province], world: World, tmp_path: Path
) -> None:
    base, province = served
    codes = list(dict.fromkeys(world.tables["enterprises"]["uscc"]))[:1000]
    if province.listed not in codes:
        codes[-1] = province.listed
    assert len(codes) == 1000
    upload = tmp_path / "codes.csv"
    with upload.open("w", encoding="utf-8-sig", newline="") as f:
        csv.writer(f).writerows([("uscc", "ref"), *((c, f"ref-{i}") for i, c in enumerate(codes))])
    driver = _browser()
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    downloads = tmp_path / "downloads"
    downloads.mkdir()
    driver.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
    )
    try:
        _sign_in(driver, base, "/checks", _key(province, "approval_office"))
        assert "审批查询" in driver.page_source
        name = world.tables["enterprises"].set_index("uscc").loc[province.listed, "name"]
        name = name.iloc[-1] if hasattr(name, "iloc") else name
        driver.find_element(By.ID, "q").send_keys(str(name)[:3])
        driver.find_element(By.ID, "find").click()
        WebDriverWait(driver, 30).until(lambda d: d.find_elements(By.ID, "candidates"))
        _shots(driver, "checks-desk-lookup", "candidates")
        driver.find_element(By.ID, "file").send_keys(str(upload))
        Select(driver.find_element(By.ID, "up-domain")).select_by_value("bidding")
        driver.find_element(By.ID, "up-as-of").send_keys(AS_OF.strftime("%m%d%Y"))
        driver.find_element(By.ID, "upload-codes").click()
        WebDriverWait(driver, 120).until(lambda d: d.find_elements(By.ID, "results"))
        rows = driver.find_elements(By.CSS_SELECTOR, "#results tr.result")
        assert len(rows) == 1000
        restricted = int(driver.find_element(By.ID, "count-restricted").text)
        clear = int(driver.find_element(By.ID, "count-clear").text)
        assert restricted >= 1 and restricted + clear == 1000
        _shots(driver, "checks-desk", "results")
        driver.find_element(By.ID, "download-csv").click()
        got = _downloaded(downloads, ".csv")
        table = list(csv.DictReader(io.StringIO(got.read_text(encoding="utf-8-sig"))))
        assert [t["uscc"] for t in table] == codes
        assert [t["ref"] for t in table[:3]] == ["ref-0", "ref-1", "ref-2"]
        listed = next(t for t in table if t["uscc"] == province.listed)
        assert listed["status"] == "restricted" and province.entry_id in listed["entries"]
        assert listed["as_of"] == AS_OF.isoformat()
    finally:
        driver.quit()


def test_an_insurer_quotes_a_book_with_bad_rows_and_downloads_the_quotes(
    served: tuple[str, Province], world: World, tmp_path: Path
) -> None:
    base, province = served
    codes = list(dict.fromkeys(world.tables["enterprises"]["uscc"]))[:30]
    book = [("uscc", "insured_amount_cny", "headcount", "previous_rate")]
    book += [(c, "500000", "", "1.5" if i % 3 == 0 else "") for i, c in enumerate(codes)]
    book += [
        (province.listed, "1000", "", ""),  # below the minimum
        ("91350200MA31E12PXF", "", "", ""),  # not in the province
        (codes[0], "", "many", ""),  # not a number
    ]
    upload = tmp_path / "renewal.csv"
    with upload.open("w", encoding="utf-8-sig", newline="") as f:
        csv.writer(f).writerows(book)
    driver = _browser()
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    downloads = tmp_path / "downloads"
    downloads.mkdir()
    driver.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
    )
    try:
        _sign_in(driver, base, "/quotes", _key(province, "insurer"))
        driver.get(f"{base}/quotes?lang=en")
        driver.find_element(By.ID, "file").send_keys(str(upload))
        driver.find_element(By.ID, "period-start").send_keys("04012026")
        driver.find_element(By.ID, "as-of").send_keys(AS_OF.strftime("%m%d%Y"))
        driver.find_element(By.ID, "quote-book").click()
        WebDriverWait(driver, 120).until(lambda d: d.find_elements(By.ID, "results"))
        assert driver.find_element(By.ID, "count-quoted").text == "30"
        refused = driver.find_elements(By.CSS_SELECTOR, "#refused tr.refused")
        assert [r.get_attribute("data-row") for r in refused] == ["32", "33", "34"]
        assert "below the minimum" in refused[0].text and "not a known" in refused[1].text
        _shots(driver, "quotes-desk", "results")
        driver.find_element(By.ID, "download-xlsx").click()
        from openpyxl import load_workbook

        got = _downloaded(downloads, ".xlsx")
        cells = list(load_workbook(got, read_only=True).worksheets[0].values)
        header = cells[0]
        kinds = [r[header.index("row_type")] for r in cells[1:]]
        assert kinds.count("quote") == 30 and kinds.count("refused") == 3 and kinds[-1] == "total"
        assert "model_risk_zh" in header and "limit_en" in header and "uncapped_rate" in header
        first = driver.find_element(By.CSS_SELECTOR, "#quoted tr.quote a")
        first.click()
        WebDriverWait(driver, 60).until(lambda d: d.find_elements(By.ID, "ws-rate"))
        assert driver.find_element(By.ID, "ws-premium").text
        _shots(driver, "quotes-worksheet")
    finally:
        driver.quit()


def test_the_api_reference_renders_from_the_service_alone(served: tuple[str, Province]) -> None:
    """``/docs`` runs Swagger UI from the service's own files under its CSP: the operations
    are drawn, and every script, style sheet and image the page loaded came from the service."""
    base, _ = served
    driver = _browser()
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        driver.get(f"{base}/docs")

        WebDriverWait(driver, 60).until(
            lambda d: d.find_elements(By.CSS_SELECTOR, ".swagger-ui .opblock")
        )
        assert "safecredit" in driver.find_element(By.CSS_SELECTOR, ".swagger-ui .info").text
        loaded = driver.execute_script(
            "return performance.getEntriesByType('resource').map(e => e.name)"
        )
        assert loaded and all(url.startswith(base) for url in loaded), loaded
        ARTIFACTS.mkdir(exist_ok=True)
        driver.save_screenshot(str(ARTIFACTS / "api-reference-offline.png"))
    finally:
        driver.quit()
