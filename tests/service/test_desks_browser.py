"""The desks in a real headless browser (Debian's chromium driven by Selenium): an enterprise
files an objection with an attachment from its desk and sees it pending; the deciding
department's regulator finds it in the queue and answers it from the entry page. Screenshots of
both desks at 1280 and 390 px wide go to ``test-artifacts/``; at 390 px nothing is wider than
the screen."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy.orm import Session

from registry.evaluate import evaluate
from registry.policy import find_policy
from registry.procedure import act, actions_of, propose
from service.engine.keys import create_key
from tests.conftest import Clock
from tests.service.conftest import END, Province
from tests.service.desks import PDF
from tests.service.test_page_browser import ARTIFACTS, _browser, served

__all__ = ["served"]  # the fixture, shared with the enterprise page's browser test
DAY = dt.date(2026, 3, 2)
WIDE, NARROW = (1280, 1100), (390, 1100)


def _notified_entry(province: Province) -> tuple[str, str, str, str, str]:
    """An entry notified today, with an enterprise key and a key of its deciding department."""
    with Session(province.engine) as session, session.begin():
        policy = find_policy("mem11")
        proposal = evaluate(session, policy=policy, as_of=END)[0]
        who = {"actor": "reg-browser", "department": proposal.department}
        entry = propose(session, proposal=proposal, policy=policy, on=DAY, **who)
        act(session, entry_id=entry.entry_id, action="notify", on=DAY, reason="notice", **who)
        _, mine = create_key(session, role="enterprise", uscc=proposal.uscc, name="企业")
        _, regulator = create_key(
            session, role="regulator", department=proposal.department, name="监管"
        )
        return entry.entry_id, proposal.uscc, proposal.department, mine, regulator


def _shoot(driver, name: str, anchor: str) -> None:  # type: ignore[no-untyped-def]
    """A screenshot at each width from ``anchor`` (an element id) down; at the narrow one the
    page must not scroll sideways."""
    from selenium.webdriver.common.by import By

    for (width, height), suffix in ((WIDE, "1280"), (NARROW, "390")):
        driver.set_window_size(width, height)
        driver.execute_script("arguments[0].scrollIntoView()", driver.find_element(By.ID, anchor))
        inner = driver.execute_script("return window.innerWidth")
        overflow = driver.execute_script("return document.documentElement.scrollWidth")
        assert overflow <= inner, f"{name} at {width}px is {overflow}px wide"
        driver.save_screenshot(str(ARTIFACTS / f"{name}-{suffix}.png"))
    driver.set_window_size(*WIDE)


def test_an_objection_filed_by_the_enterprise_and_answered_by_the_regulator(
    served: tuple[str, Province], frozen: Clock, tmp_path: Path
) -> None:
    base, province = served
    frozen.day = DAY
    entry_id, uscc, department, mine, regulator = _notified_entry(province)
    proof = tmp_path / "异议证明.pdf"
    proof.write_bytes(PDF)
    ARTIFACTS.mkdir(exist_ok=True)
    driver = _browser()
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        driver.get(f"{base}/enterprises/{uscc}")
        driver.find_element(By.ID, "key").send_keys(mine)
        driver.find_element(By.ID, "sign-in").click()
        notice = driver.find_element(By.CSS_SELECTOR, f"tr.notice[data-entry='{entry_id}']")
        assert notice.find_element(By.CSS_SELECTOR, ".deadline").text == "2026-03-23"
        driver.find_element(By.ID, f"reason-object-{entry_id}").send_keys("事故责任认定有误")
        driver.find_element(By.ID, f"files-object-{entry_id}").send_keys(str(proof))
        driver.find_element(By.ID, f"submit-object-{entry_id}").click()
        WebDriverWait(driver, 30).until(lambda d: d.find_elements(By.ID, "filed"))
        filing = driver.find_element(
            By.CSS_SELECTOR, f"tr.filing[data-entry='{entry_id}'][data-action='object']"
        )
        assert filing.get_attribute("data-answered") == "no"
        assert "异议证明.pdf" in filing.find_element(By.CSS_SELECTOR, "a.attachment").text
        assert "等待答复" in filing.text
        notice = driver.find_element(By.CSS_SELECTOR, f"tr.notice[data-entry='{entry_id}']")
        assert "异议处理中" in notice.text  # pending, now with the objection
        _shoot(driver, "enterprise-desk", "trend")
        driver.find_element(By.ID, "sign-out").click()
        WebDriverWait(driver, 30).until(lambda d: "/login" in d.current_url)

        driver.get(f"{base}/registry")
        driver.find_element(By.ID, "key").send_keys(regulator)
        driver.find_element(By.ID, "sign-in").click()
        task = driver.find_element(By.CSS_SELECTOR, f"tr.task[data-entry='{entry_id}']")
        assert task.get_attribute("data-kind") == "answer"
        assert task.get_attribute("data-deadline") == "2026-03-23"
        assert driver.find_element(By.ID, "department").text == department
        _shoot(driver, "regulator-queue", "queue")
        driver.find_element(By.ID, f"open-{entry_id}").click()
        WebDriverWait(driver, 30).until(lambda d: d.find_elements(By.ID, "form-uphold"))
        steps = driver.find_elements(By.CSS_SELECTOR, "tr.step")
        assert [s.get_attribute("data-action") for s in steps] == ["propose", "notify", "object"]
        assert all(s.find_element(By.CSS_SELECTOR, ".recorded").text for s in steps)
        driver.find_element(By.ID, "reason-uphold").send_keys("经核查，事故责任认定无误")
        driver.find_element(By.ID, "submit-uphold").click()
        WebDriverWait(driver, 30).until(lambda d: d.find_elements(By.ID, "done"))
        assert driver.find_element(By.ID, "state").text == "异议不成立"
        _shoot(driver, "regulator-entry", "entry-name")
    finally:
        driver.quit()
    with Session(province.engine) as session, session.begin():
        last = actions_of(session, entry_id=entry_id)[-1]
        assert (last.action, last.acted_on, last.department) == ("uphold", DAY, department)
