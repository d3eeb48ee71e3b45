"""The console in a real headless Chromium (Debian's, driven through its chromedriver) against one
real server per backend with real data: each role signs in and does its main task end to end.
Any error in the page's console (a script error, a refused style or resource) fails the test;
a failing test leaves a screenshot beside its server's log.

With IDCHECK_CONSOLE_SCREENSHOTS=<folder> (`make screenshots`), each role's main page is saved
there too: docs/console/ holds those README shows."""

import base64
import csv
import io
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver import Chrome as WebDriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import Select
from selenium.webdriver.support.ui import WebDriverWait

from tests.helpers.databases import Database
from tests.helpers.inprocess import holder_records
from tests.helpers.servers import Server
from tests.helpers.servers import auth
from tests.helpers.servers import remote_org
from tests.helpers.servers import start_server

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
SHOTS = os.environ.get("IDCHECK_CONSOLE_SCREENSHOTS")
PEOPLE = [
    {"id": f"c{n}", "email": f"client.{n}@exemple.fr", "phone": f"06 12 34 56 {n:02d}",
     "first_name": "Camille", "last_name": f"Martin{chr(97 + n)}"}
    for n in range(3)
]  # fmt: skip


@pytest.fixture(scope="module")
def server(module_database: Database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from start_server(module_database, tmp_path_factory.mktemp("server"))


@pytest.fixture(scope="module")
def world(server: Server) -> dict[str, str]:
    """A holder with three records, a buyer that verified two of them, finance, the admin."""
    keys = {"admin": server.admin_key}
    with server.client() as client:
        for role in ("holder", "buyer", "finance"):
            keys[f"{role}_org"], keys[role] = remote_org(
                client, server.admin_key, role, f"Console {role} {secrets.token_hex(3)}"
            )
        signing = client.get("/v1/signing-key", headers=auth(keys["holder"])).json()
        made = client.post(
            "/v1/datasets",
            json={"name": "Clients 2026", "legal_basis": "contract"},
            headers=auth(keys["holder"]),
        )
        dataset = made.json()["id"]
        records = holder_records(PEOPLE, bytes.fromhex(signing["key"]), signing["version"])
        uploaded = client.post(
            f"/v1/datasets/{dataset}/records",
            json={"records": records},
            headers=auth(keys["holder"]),
        )
        assert uploaded.status_code == 200, uploaded.text
        verified = client.post(
            "/v1/verify",
            json={"purpose": "setup", "records": [{"email": p["email"]} for p in PEOPLE[:2]]},
            headers=auth(keys["buyer"]),
        )
        assert verified.status_code == 200, verified.text
    return keys | {"dataset": dataset}


@pytest.fixture(scope="module")
def driver() -> Iterator[WebDriver]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--window-size=1280,1000",
    ):  # fmt: skip
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    browser.set_page_load_timeout(30)
    try:
        yield browser
    finally:
        browser.quit()


class Console:
    """The browser on the server's console: pages opened, forms sent, the page's console read."""

    def __init__(self, driver: WebDriver, server: Server) -> None:
        self.driver, self.server = driver, server

    def open(self, path: str) -> None:
        self.driver.get(self.server.url + path)
        self.no_console_errors()

    def _log(self) -> list[dict[str, Any]]:
        """What the page wrote to its console since the last reading (chromedriver's log)."""
        entries: list[dict[str, Any]] = self.driver.get_log("browser")  # type: ignore[no-untyped-call]
        return entries

    def fits_a_phone(self, path: str, shot: str | None = None) -> None:
        """The page on a phone's screen: nothing wider than the screen (tables scroll alone)."""
        self.driver.set_window_size(390, 844)
        try:
            self.open(path)
            widths = self.driver.execute_script(
                "return [document.documentElement.scrollWidth, window.innerWidth]"
            )
            assert widths[0] <= widths[1], (path, widths)
            if shot:
                self.shot(shot)
        finally:
            self.driver.set_window_size(1280, 1000)

    def open_refused(self, path: str, status: int) -> None:
        """A page the server refuses: the browser's one error is that status, nothing else."""
        self.driver.get(self.server.url + path)
        errors = [e["message"] for e in self._log() if e["level"] == "SEVERE"]
        assert len(errors) == 1, errors
        assert f"status of {status}" in errors[0]

    def no_console_errors(self) -> None:
        errors = [e for e in self._log() if e["level"] == "SEVERE"]
        assert not errors, errors

    def sign_in(self, key: str) -> None:
        """By keyboard alone: the key field has the focus; Enter sends the form."""
        self.driver.delete_all_cookies()
        self.open("/console/sign-in")
        before = self.driver.find_element(By.TAG_NAME, "html")
        focused = self.driver.switch_to.active_element
        assert focused.get_attribute("id") == "key"
        focused.send_keys(key + Keys.ENTER)
        self._replaced(before)

    def submit(self, form: WebElement) -> None:
        """The form sent, and its answer's page loaded."""
        self._loading(form.find_element(By.CSS_SELECTOR, "button[type=submit]"))

    def follow(self, link_text: str) -> None:
        self._loading(self.driver.find_element(By.LINK_TEXT, link_text))

    def _loading(self, element: WebElement) -> None:
        before = self.driver.find_element(By.TAG_NAME, "html")
        element.click()
        self._replaced(before)

    def _replaced(self, before: WebElement) -> None:
        """Wait for the next page: the old one's root gone. While Chromium swaps documents,
        chromedriver may answer a look at the old node with a passing error ("Node with given id
        does not belong to the document"): that is asked again, not a failure."""
        wait = WebDriverWait(self.driver, 20, ignored_exceptions=[WebDriverException])
        wait.until(expected_conditions.staleness_of(before))
        self.no_console_errors()

    @property
    def path(self) -> str:
        return str(self.driver.current_url).removeprefix(self.server.url).split("?")[0]

    def text(self, selector: str = "main") -> str:
        return str(self.driver.find_element(By.CSS_SELECTOR, selector).text)

    def shot(self, name: str) -> None:
        if SHOTS:
            Path(SHOTS).mkdir(parents=True, exist_ok=True)
            self.driver.save_screenshot(str(Path(SHOTS) / f"{name}.png"))


@contextmanager
def _console(driver: WebDriver, server: Server, name: str) -> Iterator[Console]:
    """The console, and a screenshot of the page beside the server's log if the test fails."""
    console = Console(driver, server)
    try:
        yield console
    except BaseException:
        shot = server.log.parent / f"{name}-failed.png"
        driver.save_screenshot(str(shot))
        print(f"the page when {name}'s test failed: {shot}")  # shown with the failure
        raise


def test_a_holder_sees_its_dataset_uploads_earnings_and_opt_outs(
    driver: WebDriver, server: Server, world: dict[str, str]
) -> None:
    with _console(driver, server, "holder") as console:
        console.sign_in(world["holder"])
        assert console.path == "/console/datasets"
        row = console.text("tbody tr")
        assert "Clients 2026" in row
        assert " 3 " in f" {row} "  # three records
        console.shot("holder-datasets")
        console.follow("Clients 2026")
        assert console.path == f"/console/datasets/{world['dataset']}"
        page = console.text()
        assert "Uploads" in page
        assert "email" in page
        console.follow("Earnings")
        assert driver.find_elements(By.CSS_SELECTOR, "svg.chart rect")
        this_month = console.text(".figure tbody tr:last-child").split()
        assert this_month[1] == "2"  # two records credited this month
        assert console.text("#by-dataset tbody tr").split()[1:] == ["Clients", "2026", "2"]
        console.shot("holder-earnings")
        console.follow("Opt-outs")
        assert "Clients 2026" in console.text()
        for path in (
            "/console/datasets",
            f"/console/datasets/{world['dataset']}",
            "/console/earnings",
        ):
            console.fits_a_phone(path)
        console.submit(driver.find_element(By.CSS_SELECTOR, "header form"))
        assert console.path == "/console/sign-in"
        console.open("/console/datasets")
        assert console.path == "/console/sign-in"


def test_a_buyer_sees_its_quota_and_verifies_pasted_rows_and_a_file(
    driver: WebDriver, server: Server, world: dict[str, str], tmp_path: Path
) -> None:
    with server.client() as client:
        quota = client.put(
            f"/v1/admin/orgs/{world['buyer_org']}/quota",
            json={"monthly_records": 1000},
            headers=auth(server.admin_key),
        )
        assert quota.status_code == 200
    with _console(driver, server, "buyer") as console:
        console.sign_in(world["buyer"])
        assert console.path == "/console/usage"
        assert driver.find_elements(By.CSS_SELECTOR, "svg.gauge")
        assert "2 of 1,000" in (driver.find_element(By.CSS_SELECTOR, "svg.gauge text").text)
        console.shot("buyer-usage")
        console.fits_a_phone("/console/usage", shot="buyer-usage-phone")
        console.follow("Verify")
        rows = "ref,email,phone,first_name,last_name\n" + "\n".join(
            f"r{n},{p['email']},{p['phone']},{p['first_name']},{p['last_name']}"
            for n, p in enumerate(PEOPLE)
        )
        driver.find_element(By.ID, "purpose").send_keys("account opening")
        driver.find_element(By.ID, "rows").send_keys(rows + "\nr9,nobody@exemple.fr,,,")
        console.submit(driver.find_element(By.CSS_SELECTOR, "main form"))
        table = console.text("#results-table")
        assert table.count(" verified ") == 3
        assert " unverified " in table
        assert "client.0@exemple.fr" not in console.text()  # rows by number and ref only
        driver.execute_script("document.getElementById('results').scrollIntoView()")
        console.shot("buyer-verify")
        href = driver.find_element(By.ID, "download").get_attribute("href") or ""
        results = base64.b64decode(href.split("base64,", 1)[1]).decode()
        lines = list(csv.DictReader(io.StringIO(results)))
        assert [line["ref"] for line in lines] == ["r0", "r1", "r2", "r9"]
        assert [line["verdict"] for line in lines][:3] == ["verified"] * 3
        upload = tmp_path / "prospects.csv"
        upload.write_text("ref;email\nf1;client.1@exemple.fr\nf2;other@exemple.fr\n")
        driver.find_element(By.ID, "purpose").send_keys("file check")
        driver.find_element(By.ID, "file").send_keys(str(upload))
        console.submit(driver.find_element(By.CSS_SELECTOR, "main form"))
        assert "f1" in console.text("#results-table")
        console.follow("Usage")
        used = console.text(".facts").split("\n")
        assert used[used.index("Used") + 1] == "8"  # 2 at set-up, 4 pasted, 2 from the file
        console.follow("Keys")
        assert "idc_buyer_" in console.text("tbody")
    logged = server.log.read_text()
    for person in PEOPLE:
        for value in (person["email"], person["phone"], person["last_name"]):
            assert value not in logged, value


def test_finance_sees_usage_by_holder_and_downloads_the_view(
    driver: WebDriver, server: Server, world: dict[str, str]
) -> None:
    with _console(driver, server, "finance") as console:
        console.sign_in(world["finance"])
        assert console.path == "/console/finance"
        assert driver.find_elements(By.CSS_SELECTOR, "svg.chart rect")
        Select(driver.find_element(By.ID, "group")).select_by_value("holder")
        Select(driver.find_element(By.ID, "period")).select_by_value("last_30_days")
        console.submit(driver.find_element(By.CSS_SELECTOR, "main form"))
        table = console.text(".figure table")
        assert "Console holder" in table
        console.shot("finance-usage")
        link = driver.find_element(By.ID, "csv").get_attribute("href") or ""
        cookie = driver.get_cookie("idcheck_session")
        assert cookie is not None
        assert cookie["httpOnly"] is True
        assert cookie["sameSite"] == "Strict"
        answer = httpx.get(link, cookies={"idcheck_session": cookie["value"]})
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/csv")
        assert answer.text.startswith("holder,holder_id,requests")
        console.open_refused("/console/admin/orgs", 403)
        assert "this page is for admin keys" in console.text()
        console.fits_a_phone("/console/finance?group=day&period=this_month")


def test_an_admin_makes_an_organisation_a_key_a_quota_rotates_and_reads_the_audit(
    driver: WebDriver, server: Server, world: dict[str, str]
) -> None:
    with _console(driver, server, "admin") as console:
        console.sign_in(world["admin"])
        assert console.path == "/console/admin/orgs"
        console.shot("admin-orgs")
        driver.find_element(By.ID, "name").send_keys("Made in the console")
        Select(driver.find_element(By.ID, "role")).select_by_value("buyer")
        console.submit(driver.find_element(By.CSS_SELECTOR, "main form"))
        assert console.text("h1").startswith("Made in the console")
        org_page = console.path
        driver.find_element(By.ID, "label").send_keys("from the console")
        console.submit(driver.find_element(By.CSS_SELECTOR, f"form[action='{org_page}/keys']"))
        key = console.text("#new-key")
        assert key.startswith("idc_buyer_")
        with server.client() as client:
            assert client.get("/v1/usage/me", headers=auth(key)).status_code == 200
        console.open(org_page)
        assert key not in driver.page_source  # shown once
        driver.find_element(By.ID, "monthly_records").send_keys("5,000")
        console.submit(driver.find_element(By.CSS_SELECTOR, f"form[action='{org_page}/quota']"))
        assert "quota 5,000." in console.text()
        console.submit(driver.find_element(By.CSS_SELECTOR, "form[action$='/revoke']"))
        assert "Revoke" not in console.text("tbody")
        with server.client() as client:
            assert client.get("/v1/usage/me", headers=auth(key)).status_code == 401
        console.follow("Signing keys")
        before = len(driver.find_elements(By.CSS_SELECTOR, "tbody tr"))
        console.submit(driver.find_element(By.CSS_SELECTOR, "main form.filters"))
        assert len(driver.find_elements(By.CSS_SELECTOR, "tbody tr")) == before + 1
        assert "current" in console.text("tbody tr:last-child")
        console.follow("Audit log")
        Select(driver.find_element(By.ID, "action")).select_by_value("key.revoke")
        console.submit(driver.find_element(By.CSS_SELECTOR, "main form"))
        rows = driver.find_elements(By.CSS_SELECTOR, "tbody tr")
        assert len(rows) == 1
        assert "key.revoke" in rows[0].text
        console.shot("admin-audit")
        for path in ("/console/admin/orgs", org_page, "/console/admin/key-versions"):
            console.fits_a_phone(path)
        console.fits_a_phone("/console/admin/audit")
