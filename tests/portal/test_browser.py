"""The portal in a real browser: headless Chromium (Debian's `chromium` and
`chromium-driver`) driven by Selenium against pytest-django's live server.

When a test fails, a screenshot of every step it took is saved under test-artifacts/.
"""

import contextlib
import os
import re
import shutil
import time
import zoneinfo
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from tests.portal.helpers import PNG, member
from tickets.models import Role, Ticket

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PASSWORD = "correct horse battery staple"  # the factories' password

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()),
        reason=f"headless Chromium is not installed ({CHROMIUM}, {CHROMEDRIVER}); "
        "install the Debian packages listed in .ci/system-packages",
    ),
]


class Steps:
    """Screenshots of each step, written to disk only when the test fails."""

    def __init__(self, driver):
        self.driver = driver
        self.shots: list[tuple[str, bytes]] = []

    def __call__(self, name: str) -> None:
        self.shots.append((name, self.driver.get_screenshot_as_png()))

    def save(self, test_name: str) -> Path:
        folder = ARTIFACTS / re.sub(r"[^\w.-]+", "_", test_name)
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        # The browser may be the thing that failed; the earlier steps are still worth saving.
        with contextlib.suppress(Exception):
            self("at-failure")
        for n, (name, data) in enumerate(self.shots, 1):
            (folder / f"{n:02d}-{name}.png").write_bytes(data)
        return folder


@pytest.fixture
def download_dir(tmp_path):
    path = tmp_path / "downloads"
    path.mkdir()
    return path


@pytest.fixture
def browser(download_dir):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1280,1000",
    ):
        options.add_argument(arg)
    options.add_experimental_option(
        "prefs",
        {
            "download.default_directory": str(download_dir),
            "download.prompt_for_download": False,
        },
    )
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


@pytest.fixture
def steps(browser, request):
    recorder = Steps(browser)
    yield recorder
    report = getattr(request.node, "report_call", None)
    # BROWSER_SCREENSHOTS=1 keeps them for passing tests too, to look at every screen.
    if (report is not None and report.failed) or os.environ.get("BROWSER_SCREENSHOTS"):
        folder = recorder.save(request.node.name)
        print(f"Screenshots of each step: {folder}")


def _wait(driver, condition, timeout=20):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(condition)


def _sign_in(driver, live_server, email):
    from selenium.webdriver.common.by import By

    driver.delete_all_cookies()
    driver.get(live_server.url + "/")
    _wait(driver, lambda d: d.find_elements(By.ID, "id_username"))
    driver.find_element(By.ID, "id_username").send_keys(email)
    driver.find_element(By.ID, "id_password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    _wait(driver, lambda d: d.find_elements(By.TAG_NAME, "h1") and "Tickets" in d.title)


@pytest.mark.django_db(transaction=True)
def test_pm_files_a_high_incident_with_attachment_replies_and_downloads_it(
    live_server, browser, steps, download_dir, site, pm, tmp_path
):
    from selenium.webdriver.common.by import By

    driver = browser
    screenshot = tmp_path / "error-screen.png"
    screenshot.write_bytes(PNG)

    _sign_in(driver, live_server, "pat@mercy.example")
    steps("signed-in")

    driver.find_element(By.LINK_TEXT, "New ticket").click()
    _wait(driver, lambda d: "New ticket" in d.title)
    steps("new-ticket-form")
    driver.find_element(By.CSS_SELECTOR, "label[for=id_kind_3]").click()  # incident
    impact = driver.find_element(By.ID, "impact-chooser")
    assert impact.is_displayed()
    # The guiding questions suggest High when the platform is down for everyone.
    driver.find_element(By.CSS_SELECTOR, "input[name=_q_safety][value=no]").click()
    driver.find_element(By.CSS_SELECTOR, "input[name=_q_down][value=yes]").click()
    assert "Suggested: High" in driver.find_element(By.CSS_SELECTOR, ".suggestion").text
    assert driver.find_element(By.CSS_SELECTOR, "input[name=impact][value=high]").is_selected()
    driver.find_element(By.ID, "id_title").send_keys("Pharmacy module down")
    driver.find_element(By.ID, "id_description").send_keys("Nobody can open it since 9:10.")
    driver.find_element(By.ID, "id_attachments").send_keys(str(screenshot))
    steps("new-ticket-filled")
    driver.find_element(By.CSS_SELECTOR, ".ticket-form button[type=submit]").click()
    _wait(driver, lambda d: "/tickets/RX-" in d.current_url)
    steps("ticket-page")
    ticket = Ticket.objects.get()
    assert ticket.kind == "incident" and ticket.impact == "high"
    assert ticket.reference in driver.title
    commitment = driver.find_element(By.CSS_SELECTOR, "[data-testid=response-commitment]").text
    assert "First response due by" in commitment or "being calculated" in commitment

    assert ticket.response_due_at is not None  # set by the SLA engine as the ticket is filed
    local = timezone.localtime(ticket.response_due_at, zoneinfo.ZoneInfo(site.timezone))
    due_text = f"{local:%H:%M} {local.tzname()}"

    driver.find_element(By.LINK_TEXT, "Tickets").click()
    row = _wait(
        driver,
        lambda d: d.find_elements(By.CSS_SELECTOR, f"tr[data-reference='{ticket.reference}']"),
    )[0]
    steps("dashboard")
    assert "Pharmacy module down" in row.text
    assert due_text in row.text
    assert "High-impact incident open" in driver.page_source

    row.find_element(By.LINK_TEXT, ticket.reference).click()
    _wait(driver, lambda d: d.find_elements(By.ID, "id_body"))
    driver.find_element(By.ID, "id_body").send_keys("Still down on ward 3.")
    driver.find_element(By.CSS_SELECTOR, "#reply-title ~ form button[type=submit]").click()
    _wait(driver, lambda d: "Your reply is posted." in d.page_source)
    steps("replied")
    assert "Still down on ward 3." in driver.find_element(By.CSS_SELECTOR, ".comment").text

    driver.find_element(By.LINK_TEXT, "error-screen.png").click()
    target = download_dir / "error-screen.png"
    deadline = time.monotonic() + 20
    while not target.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    steps("downloaded")
    assert target.read_bytes() == PNG


@pytest.mark.django_db(transaction=True)
def test_viewer_cannot_file(live_server, browser, steps, site, pm):
    from selenium.webdriver.common.by import By

    member(site, Role.VIEWER, username="vic", email="vic@mercy.example")
    driver = browser
    _sign_in(driver, live_server, "vic@mercy.example")
    steps("viewer-dashboard")
    assert not driver.find_elements(By.LINK_TEXT, "New ticket")
    driver.get(live_server.url + "/tickets/new/")
    _wait(driver, lambda d: d.find_elements(By.TAG_NAME, "h1"))
    steps("viewer-new-ticket")
    assert driver.find_element(By.TAG_NAME, "h1").text == "Not allowed"
    assert "project managers and IT staff" in driver.page_source
    assert not driver.find_elements(By.ID, "id_title")


UNLABELLED_FIELDS = """
return Array.from(document.querySelectorAll('input, select, textarea'))
  .filter(el => el.type !== 'hidden' && el.offsetParent !== null)
  .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
  .map(el => el.outerHTML);
"""
OVERFLOW = "return document.documentElement.scrollWidth - document.documentElement.clientWidth;"
RESULTS_SCROLL = """
const r = document.querySelector('#changelist .results');
return r.scrollWidth - r.clientWidth;
"""


@pytest.mark.django_db(transaction=True)
def test_every_field_is_labelled_and_pages_fit_a_phone(live_server, browser, steps, site, pm):
    from tickets import services

    ticket = services.ticket_create(
        actor=pm,
        site=site,
        kind="incident",
        impact="high",
        title="A rather long title that must wrap on a phone without pushing the page wider",
        description="Nobody can open the pharmacy module.",
    )
    # Overdue, so the escalation confirmation can be shown too.
    Ticket.objects.filter(pk=ticket.pk).update(
        response_due_at=timezone.now() - timedelta(minutes=5)
    )
    driver = browser
    _sign_in(driver, live_server, "pat@mercy.example")
    pages = {
        "dashboard": "/",
        "new-ticket": "/tickets/new/",
        "ticket": f"/tickets/{ticket.reference}/",
        "escalate-confirm": f"/tickets/{ticket.reference}/escalate/",
        "sla-report": f"/sites/{site.slug}/sla-report/",
        "members": f"/sites/{site.slug}/members/",
        "password-change": "/accounts/password/change/",
    }
    for width in (1280, 390):
        driver.set_window_size(width, 900)
        for name, path in pages.items():
            driver.get(live_server.url + path)
            _wait(driver, lambda d: d.find_elements("tag name", "footer"))
            steps(f"{name}-{width}px")
            assert driver.execute_script(UNLABELLED_FIELDS) == [], name
            assert driver.execute_script(OVERFLOW) <= 0, f"{name} is wider than {width}px"
            assert driver.find_element("tag name", "h1").text
            footer = driver.find_element("tag name", "footer").text
            assert "(646) 969-9939" in footer


@pytest.mark.django_db(transaction=True)
def test_impact_helper_puts_patient_safety_first_and_never_overwrites_a_chosen_level(
    live_server, browser, steps, site, pm
):
    from selenium.webdriver.common.by import By

    driver = browser
    _sign_in(driver, live_server, "pat@mercy.example")
    driver.get(live_server.url + "/tickets/new/")
    driver.find_element(By.CSS_SELECTOR, "label[for=id_kind_3]").click()  # incident
    first = driver.find_elements(By.CSS_SELECTOR, "[data-impact-helper] legend")[0]
    assert "patient care" in first.text.lower()
    # Only 5% of users affected, but patient care is: High, and call the support line.
    driver.find_element(By.CSS_SELECTOR, "input[name=_q_users][value=few]").click()
    assert not driver.find_element(By.CSS_SELECTOR, "input[name=impact][value=low]").is_selected()
    driver.find_element(By.CSS_SELECTOR, "input[name=_q_safety][value=yes]").click()
    steps("patient-safety-yes")
    assert driver.find_element(By.CSS_SELECTOR, "input[name=impact][value=high]").is_selected()
    call = driver.find_element(By.CSS_SELECTOR, "[data-impact-call]")
    assert call.is_displayed() and "(646) 969-9939" in call.text

    # A level the PM picks is theirs: answering further only suggests.
    driver.find_element(By.CSS_SELECTOR, "input[name=impact][value=medium]").click()
    driver.find_element(By.CSS_SELECTOR, "input[name=_q_safety][value=no]").click()
    driver.find_element(By.CSS_SELECTOR, "input[name=_q_users][value=few]").click()
    steps("chosen-level-kept")
    assert driver.find_element(By.CSS_SELECTOR, "input[name=impact][value=medium]").is_selected()
    assert "Suggested: Low" in driver.find_element(By.CSS_SELECTOR, ".suggestion").text
    assert not call.is_displayed()


def _staff_sign_in(driver, live_server, path, username):
    """Open a back-office path; the admin asks for a sign-in first and then goes there."""
    from selenium.webdriver.common.by import By

    driver.delete_all_cookies()
    driver.get(live_server.url + path)
    _wait(driver, lambda d: d.find_elements(By.ID, "id_username"))
    driver.find_element(By.ID, "id_username").send_keys(username)
    driver.find_element(By.ID, "id_password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "#login-form [type=submit]").click()


def _conversation_ticket(site, pm, agent):
    """A ticket with a client reply, a public reply and an internal note, in that order."""
    from tickets import services

    ticket = services.ticket_create(
        actor=pm,
        site=site,
        kind="task",
        title="Add two pharmacy technicians",
        description="Accounts for Monday, please.",
    )
    services.comment_post(ticket=ticket, author=pm, body="First: the client adds a detail.")
    services.comment_post(
        ticket=ticket,
        author=agent,
        body="Second: on it, accounts by Friday.",
        estimated_resolution_at=timezone.now() + timedelta(days=3),
    )
    services.comment_post(ticket=ticket, author=agent, body="Third: a note.", public=False)
    return Ticket.objects.get(pk=ticket.pk)


@pytest.mark.django_db(transaction=True)
def test_an_agent_follows_a_staff_email_link_to_the_ticket_as_a_conversation(
    live_server, browser, steps, site, pm
):
    from urllib.parse import urlsplit

    from selenium.webdriver.common.by import By

    from tests.tickets.factories import StaffFactory
    from tickets.models import Notification

    agent = StaffFactory(username="chris", first_name="Chris", last_name="Patel")
    ticket = _conversation_ticket(site, pm, agent)
    alert = Notification.objects.get(ticket=ticket, event=Notification.Event.STAFF_ALERT)
    found = re.search(r"Open the ticket: (\S+)", alert.body_text)
    assert found is not None
    link = found[1]
    driver = browser
    driver.set_window_size(1366, 900)
    _staff_sign_in(driver, live_server, urlsplit(link).path, "chris")
    _wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "[data-testid=thread]"))
    steps("ticket-page-1366")
    assert f"/admin/tickets/ticket/{ticket.pk}/change/" in driver.current_url

    # Top to bottom: the clocks, the thread in time order, then the reply box and controls.
    def top(css):
        return driver.find_element(By.CSS_SELECTOR, css).rect["y"]

    entries = driver.find_elements(By.CSS_SELECTOR, ".thread-entry")
    texts = [e.text for e in entries]
    assert [t.split("First:")[0] != t for t in texts[:1]] == [True]
    positions = [
        next(e.rect["y"] for e in entries if word in e.text)
        for word in ("First:", "Second:", "Third:")
    ]
    assert positions == sorted(positions)
    assert top(".sla-panel") < top("[data-testid=thread]") < top("#id_body")
    kinds = [e.get_attribute("data-thread-kind") for e in entries]
    assert kinds == ["client", "staff", "internal"]
    assert "Chris Patel" in texts[1] and "Rx.Health support" in texts[1]
    assert "Mercy General" in texts[0]  # the client's site and role, not a username
    estimate = driver.find_element(By.CSS_SELECTOR, ".field-estimated_resolution_at").text
    assert "Estimated resolution (America/New_York)" in estimate


@pytest.mark.django_db(transaction=True)
def test_the_queue_shows_its_columns_at_1366_by_900_and_back_office_pages_fit_a_phone(
    live_server, browser, steps, site, pm
):
    from selenium.webdriver.common.by import By

    from tests.tickets.factories import StaffFactory

    agent = StaffFactory(username="chris", first_name="Chris", last_name="Patel")
    ticket = _conversation_ticket(site, pm, agent)
    driver = browser
    driver.set_window_size(1366, 900)
    _staff_sign_in(driver, live_server, "/admin/tickets/ticket/", "chris")
    _wait(driver, lambda d: d.find_elements(By.ID, "result_list"))
    steps("queue-1366")
    width = driver.execute_script("return document.documentElement.clientWidth;")
    for column in ("reference", "sla", "title_cell", "site", "status", "assignee_name", "updated"):
        header = driver.find_element(By.CSS_SELECTOR, f"#result_list th.column-{column}")
        assert header.is_displayed(), column
        assert header.rect["x"] + header.rect["width"] <= width, f"{column} is off-screen"
    assert driver.execute_script(OVERFLOW) <= 0
    assert driver.execute_script(RESULTS_SCROLL) <= 0, "the queue scrolls sideways"

    driver.get(live_server.url + "/admin/tickets/notification/")
    _wait(driver, lambda d: d.find_elements(By.ID, "result_list"))
    steps("ledger-1366")
    for column in ("status_badge", "error_short"):
        header = driver.find_element(By.CSS_SELECTOR, f"#result_list th.column-{column}")
        assert header.rect["x"] + header.rect["width"] <= width, f"{column} is off-screen"
    assert driver.execute_script(RESULTS_SCROLL) <= 0, "the ledger scrolls sideways"

    driver.set_window_size(390, 900)
    for name, path in {
        "admin-home": "/admin/",
        "ticket": f"/admin/tickets/ticket/{ticket.pk}/change/",
        "staff-dashboard": "/staff/",
        "preferences": "/staff/preferences/",
    }.items():
        driver.get(live_server.url + path)
        _wait(driver, lambda d: d.find_elements(By.ID, "content"))
        steps(f"{name}-390px")
        assert driver.execute_script(OVERFLOW) <= 0, f"{name} is wider than 390px"


@pytest.mark.django_db(transaction=True)
def test_escalate_asks_for_confirmation_then_lists_the_escalation(
    live_server, browser, steps, site, pm
):
    from selenium.webdriver.common.by import By

    from tickets import services

    ticket = services.ticket_create(
        actor=pm, site=site, kind="incident", impact="high", title="Down", description="x"
    )
    Ticket.objects.filter(pk=ticket.pk).update(
        response_due_at=timezone.now() - timedelta(minutes=5)
    )
    driver = browser
    _sign_in(driver, live_server, "pat@mercy.example")
    driver.get(live_server.url + f"/tickets/{ticket.reference}/")
    driver.find_element(By.PARTIAL_LINK_TEXT, "Escalate to level 2").click()
    _wait(driver, lambda d: "Escalate " + ticket.reference in d.title)
    steps("confirm")
    groups = driver.find_element(By.CSS_SELECTOR, "[data-testid=escalation-groups]").text
    assert "project team" in groups.lower()
    assert Ticket.objects.get(pk=ticket.pk).escalation_level == 1  # asking is not escalating
    driver.find_element(By.CSS_SELECTOR, "form.actions button[type=submit]").click()
    _wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "[data-testid=escalation-history]"))
    steps("escalated")
    assert (
        "Level 2 on"
        in driver.find_element(By.CSS_SELECTOR, "[data-testid=escalation-history]").text
    )
    # One client escalation per committed window: no button now, and the page says when.
    assert not driver.find_elements(By.PARTIAL_LINK_TEXT, "Escalate to level")
    refusal = driver.find_element(By.CSS_SELECTOR, "[data-testid=escalation-refusal]").text
    assert "again from" in refusal


@pytest.mark.django_db(transaction=True)
def test_the_interactive_api_docs_work_under_the_content_security_policy(
    live_server, browser, steps
):
    from selenium.webdriver.common.by import By

    driver = browser
    driver.get(live_server.url + "/api/v1/docs/")
    # Swagger UI is drawn by its script: with the script blocked the page stays empty.
    _wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, ".swagger-ui .opblock"))
    steps("api-docs")
    assert "Rx.Health support portal API" in driver.find_element(By.CSS_SELECTOR, ".info").text
    blocked = [
        entry["message"]
        for entry in driver.get_log("browser")
        if "Content Security Policy" in entry["message"]
    ]
    assert blocked == []
