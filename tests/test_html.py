"""``--format html``: self-contained machine and fleet reports, checked in real headless Chromium (Selenium 4).

The browser tests skip with a reason where selenium, chromium or chromedriver is missing (CI installs them).
``REGTLS_SCREENSHOT=docs/report.png python -m pytest tests/test_html.py -k screenshot`` rewrites the README's
screenshot with the same browser.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from analyzer.engine import check, choose_profile
from analyzer.knowledge import Setting
from analyzer.report.html import render_fleet, render_machine
from analyzer.scan import Row
from tests.conftest import REPO, SAMPLES
from tests.test_cli import machine, regtls

CHROMIUM = Path(shutil.which("chromium") or "/usr/bin/chromium")
CHROMEDRIVER = Path(shutil.which("chromedriver") or "/usr/bin/chromedriver")
OPTIONS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
           "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
           "--window-size=1100,900")
# installed before any page script: page errors and CSP violations land in window.__problems
HOOK = """window.__problems = [];
window.addEventListener("error", function (e) { window.__problems.push("error: " + e.message); }, true);
document.addEventListener("securitypolicyviolation", function (e) {
  window.__problems.push("csp: " + e.violatedDirective + " " + e.blockedURI); });"""
HOSTILE_KEY = '<img src=x onerror="window.pwned=1;document.title=location.protocol">'
HOSTILE_DATA = "<script>window.pwned=2;document.title='pwned'</script>"
HOSTILE_REG = f"""Windows Registry Editor Version 5.00

[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\{HOSTILE_KEY}\\Client]
"Enabled"=dword:00000001

[HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Microsoft\\Cryptography\\Configuration\\SSL\\00010002]
"Functions"="{HOSTILE_DATA}"
"""
TYPOS = SAMPLES / "reg" / "tls12-typos.reg"


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Headless Chromium through chromedriver, with a fresh profile; skips when either is missing."""
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install -e '.[test]')")
    from selenium.webdriver.chrome.service import Service

    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not path.exists():
            pytest.skip(f"{path} not found (Debian package {package}; .ci/run installs it)")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for option in (*OPTIONS, f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(option)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": HOOK})
    try:
        yield driver
    finally:
        driver.quit()


def load(driver: Any, page: Path) -> None:
    """Open a report from disk and check it stayed inside itself: no errors, no request, nothing external."""
    driver.get(page.resolve().as_uri())
    assert driver.execute_script("return document.readyState") == "complete"
    assert_clean(driver)


def assert_clean(driver: Any) -> None:
    """No console error, no page error or CSP violation, no fetched resource, no external reference."""
    severe = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert severe == []
    assert driver.execute_script("return window.__problems") == []
    entries = driver.execute_script("return performance.getEntriesByType('navigation').concat("
                                    "performance.getEntriesByType('resource')).map(function (e) { return e.name; })")
    assert len(entries) == 1 and entries[0].startswith("file:")  # the page itself, and nothing else
    assert driver.execute_script("return document.querySelectorAll('[src], link, object, embed, iframe, "
                                 "base, form').length") == 0
    hrefs = driver.execute_script("return Array.from(document.querySelectorAll('a[href]'), "
                                  "function (a) { return a.getAttribute('href'); })")
    assert hrefs and all(h.startswith("#") for h in hrefs)


def text(driver: Any, css: str) -> str:
    """The visible text of the one element ``css`` selects (it must be displayed)."""
    found = driver.find_elements("css selector", css)
    assert len(found) == 1, css
    assert found[0].is_displayed(), css
    return str(found[0].text)


def html_of(*args: object, out: Path) -> tuple[int, str, str]:
    """``regtls ARGS --format html --output OUT``."""
    return regtls(*args, "--format", "html", "--output", out)


class Ids(HTMLParser):
    """The ``id`` and ``data-setting`` attributes of a page, and its tag names."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.settings: set[str] = set()
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        for name, value in attrs:
            if name == "id" and value:
                self.ids.add(value)
            if name == "data-setting" and value:
                self.settings.add(value)


def parsed(page: str) -> Ids:
    parser = Ids()
    parser.feed(page)
    return parser


def test_machine_report_shows_what_the_json_says(browser: Any, tmp_path: Path) -> None:
    inputs = [*machine("server2008r2-sp1-untouched"), TYPOS]
    out = tmp_path / "report.html"
    code, stdout, err = html_of("check", *inputs, out=out)
    assert (code, stdout) == (1, "")
    assert err.endswith("regtls: verdict: fail (13 errors, 1 warnings, 0 notes, 1 undecided) with profile "
                        "azure-backup\n")
    _, data_text, _ = regtls("check", *inputs, "--format", "json")
    data = json.loads(data_text)
    page = out.read_text(encoding="utf-8")
    assert parsed(page).settings == {s["id"] for s in data["settings"]}  # every setting of the JSON, no other

    load(browser, out)
    assert browser.title == "regtls check: fail"
    verdict = browser.find_element("id", "verdict")
    assert verdict.location["y"] < 100 and verdict.is_displayed()  # verdict first
    assert "VERDICT: FAIL" in verdict.text and "13 errors · 1 warnings · 0 notes · 1 undecided" in verdict.text
    cell = text(browser, 'td[data-setting="schannel/TLS 1.2/Client"]')
    assert cell.startswith("not-default (os-default)\nnot set; Windows Server 2008 R2 SP1 default: not-default")
    assert text(browser, 'td[data-setting="schannel/SSL 2.0/Client"]').startswith("not-default (explicit)")
    dotnet = text(browser, 'tr[data-setting="dotnet/v4.0.30319/64/SchUseStrongCrypto"]')
    assert "invalid" in dotnet and "SchUseStrongCrypto is REG_SZ, not REG_DWORD" in dotnet
    assert f"{TYPOS}:" in dotnet and hashlib.sha256(TYPOS.read_bytes()).hexdigest() in dotnet
    assert "mask: 160" in text(browser, 'tr[data-setting="winhttp/64/DefaultSecureProtocols"]')
    assert text(browser, 'tr[data-setting="update/KB3140245"]').startswith("update/KB3140245 not-found")

    rows = browser.find_elements("css selector", "#findings tr.finding")
    assert len(rows) == len(data["findings"]) == 14
    for row, finding in zip(rows, data["findings"], strict=True):
        assert row.is_displayed()
        shown = row.text
        assert finding["rule"] in shown and finding["message"] in shown and finding["level"] in shown
        where = finding["location"]
        assert ":".join(str(where[k]) for k in ("file", "line", "column") if where.get(k) is not None) in shown
        sha = next(i["sha256"] for i in data["inputs"] if i["path"] == where["file"])
        assert f"sha256 {sha}" in shown

    what_if = text(browser, "#what-if")
    assert "Verdict of the hives alone: fail → with the .reg files: fail" in what_if
    assert "dotnet/v4.0.30319/64/SchUseStrongCrypto unset invalid" in what_if
    assert "error tls12-typos.reg:4:2 unknown-root unknown root key 'HKLM'" in text(
        browser, "#diagnostics").replace(str(TYPOS.parent) + "/", "")
    assert "OS001 kb3140245-installed" in text(browser, "#rule-OS001")  # undecided: documented too
    assert browser.find_elements("id", "rule-OS002") == []  # not-applicable: not repeated
    doc = text(browser, "#rule-REG002")
    assert doc.startswith("REG002 reg-abbreviated-root (default level error)") and "References" in doc
    browser.find_element("css selector", '#findings a[href="#rule-REG002"]').click()
    assert browser.execute_script("return location.hash") == "#rule-REG002"
    assert_clean(browser)


def test_hostile_names_and_data_render_as_text(browser: Any, tmp_path: Path) -> None:
    overlay = tmp_path / "x<i>italic.reg"
    overlay.write_text(HOSTILE_REG, encoding="utf-8")
    out = tmp_path / "report.html"
    code, stdout, err = html_of("check", *machine("server2019-configured"), overlay, out=out)
    assert (code, stdout) == (1, "") and "verdict: fail" in err
    page = out.read_text(encoding="utf-8")
    assert HOSTILE_KEY not in page and HOSTILE_DATA not in page and "<i>italic" not in page
    assert {"script", "img", "i"}.isdisjoint(parsed(page).tags)
    without_csp = tmp_path / "no-csp.html"  # the escaping alone must hold, without the CSP behind it
    without_csp.write_text(re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", page), encoding="utf-8")
    assert "Content-Security-Policy" not in without_csp.read_text(encoding="utf-8")
    for page_file in (out, without_csp):
        load(browser, page_file)
        assert browser.execute_script("return window.pwned") is None
        assert browser.title == "regtls check: fail"
        assert browser.find_elements("css selector", "img, script, i") == []
        findings = text(browser, "#findings")
        assert f"protocol key '{HOSTILE_KEY}' is not one Schannel reads" in findings
        assert f"{overlay}:3:1" in findings
        suites = text(browser, 'tr[data-setting="ciphersuites/order"]')
        assert f"suites: {HOSTILE_DATA}" in suites and "1 suites from the policy list" in suites


def test_the_policy_allows_only_the_inline_blocks(browser: Any, tmp_path: Path) -> None:
    rows = [Row("m1", ["m1/SYSTEM"], verdict="pass")]
    out = tmp_path / "fleet.html"
    out.write_text(render_fleet(rows), encoding="utf-8")
    load(browser, out)
    policy = browser.find_element("css selector", 'meta[http-equiv="Content-Security-Policy"]').get_attribute(
        "content")
    blocks = browser.execute_script("return [document.querySelector('style').textContent, "
                                    "document.querySelector('script').textContent]")
    digests = ["'sha256-" + base64.b64encode(hashlib.sha256(b.encode()).digest()).decode() + "'" for b in blocks]
    assert policy == (f"default-src 'none'; style-src {digests[0]}; script-src {digests[1]}; img-src data:; "
                      "base-uri 'none'; form-action 'none'")
    browser.execute_script("var s = document.createElement('script'); s.textContent = 'window.injected = 1';"
                           "document.body.appendChild(s);")
    assert browser.execute_script("return window.injected") is None
    assert any(p.startswith("csp: script-src") for p in browser.execute_script("return window.__problems"))
    browser.get_log("browser")  # the blocked script is logged; the next page starts clean


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]], str]:
    """Four sample machines, one under a hostile folder name, and one unreadable machine; its HTML and JSONL."""
    root = tmp_path_factory.mktemp("fleet")
    for name in ("server2012r2-untouched", "win7-sp1-configured", "server2016-controlset002"):
        shutil.copytree(SAMPLES / name, root / name, ignore=shutil.ignore_patterns("*.reg"))
    shutil.copytree(SAMPLES / "win11-23h2-partial", root / HOSTILE_KEY,
                    ignore=shutil.ignore_patterns("*.reg"))
    broken = root / "broken" / "Windows" / "System32" / "config"
    broken.mkdir(parents=True)
    (broken / "SYSTEM").write_bytes(b"regf" + bytes(4092))
    out = root.parent / f"{root.name}.html"
    code, stdout, err = html_of("scan", root, "--jobs", "1", out=out)
    assert (code, stdout) == (2, "")
    assert err.endswith("regtls: 5 machine(s): 2 pass, 2 fail, 0 undecided, 1 unreadable\n")
    _, text, _ = regtls("scan", root, "--jobs", "1", "--format", "json")  # jsonl rows leave the settings out
    return out, json.loads(text)["machines"], err


def machine_column(driver: Any) -> list[str]:
    """The machine names of the displayed rows, top to bottom."""
    return [r.find_element("css selector", "td.machine").text
            for r in driver.find_elements("css selector", "#machines tbody tr") if r.is_displayed()]


def test_fleet_report_heat_map_counts_and_links(browser: Any, fleet: tuple[Path, list[dict[str, Any]], str]) -> None:
    out, rows, _ = fleet
    load(browser, out)
    assert browser.title == "regtls scan: 5 machines"
    assert text(browser, "#verdict").split("\n") == ["5 MACHINES", "pass 2", "fail 2", "undecided 0",
                                                     "unreadable 1"]
    assert machine_column(browser) == [r["machine"] for r in rows]  # scan order, hostile name as text
    assert browser.execute_script("return window.pwned") is None and browser.find_elements("css selector", "img") == []
    hostile = next(i for i, r in enumerate(rows, 1) if r["machine"].endswith(HOSTILE_KEY))
    headers = [h.get_attribute("title") or h.text for h in browser.find_elements("css selector", "#machines th")]
    row = browser.find_elements("css selector", "#machines tbody tr")[hostile - 1]
    cells = dict(zip(headers, (c.text for c in row.find_elements("css selector", "td")), strict=True))
    states = {s["id"]: s["state"] for s in rows[hostile - 1]["settings"]}
    assert cells["schannel/TLS 1.2/Client"] == states["schannel/TLS 1.2/Client"] == "enabled"
    assert cells["dotnet/v4.0.30319/32/SchUseStrongCrypto"] == states["dotnet/v4.0.30319/32/SchUseStrongCrypto"]
    assert cells["verdict"] == "fail" and cells["failing rules / error"] == "NET001 NET002"

    for rule in ("NET001", "NET002"):
        counted = text(browser, f'#rule-counts tr[data-rule="{rule}"]').split(" ")
        with_rule = [r for r in rows if any(f["rule"] == rule for f in r["findings"])]
        errors = sum(f["rule"] == rule and f["level"] == "error" for r in rows for f in r["findings"])
        assert counted[:4] == [rule, counted[1], str(len(with_rule)), str(errors)] and len(with_rule) == 2

    browser.find_element("css selector", f'#machines a[href="#m-{hostile}"]').click()
    assert browser.execute_script("return location.hash") == f"#m-{hostile}"
    section = browser.find_element("id", f"m-{hostile}")
    assert section.is_displayed() and HOSTILE_KEY in section.text
    assert abs(browser.execute_script("return arguments[0].getBoundingClientRect().top", section)) < 5
    assert "NET001" in section.text and "Schannel" not in section.text.split("\n")[0]
    broken = text(browser, f"#m-{next(i for i, r in enumerate(rows, 1) if r['verdict'] == 'unreadable')}")
    assert "unreadable" in broken and "SYSTEM" in broken.split("error")[-1]
    assert_clean(browser)


def test_fleet_sorting_and_filtering_by_clicking(browser: Any, fleet: tuple[Path, list[dict[str, Any]], str]) -> None:
    out, rows, _ = fleet
    load(browser, out)
    by_build = sorted((r for r in rows if r["build"]), key=lambda r: r["build"])
    unreadable = [r["machine"] for r in rows if r["build"] is None]
    build = browser.find_element("xpath", "//th/button[text()='build']")
    build.click()
    assert machine_column(browser) == unreadable + [r["machine"] for r in by_build]  # numbers, not text order
    assert build.find_element("xpath", "..").get_attribute("aria-sort") == "ascending"
    build.click()
    assert machine_column(browser) == [r["machine"] for r in reversed(by_build)] + unreadable

    search = browser.find_element("id", "filter")
    search.send_keys("windows server 2012")
    assert machine_column(browser) == [r["machine"] for r in rows if r["os"] == "Windows Server 2012 R2"]
    assert text(browser, "#shown") == "1"
    search.clear()
    search.send_keys(" ")  # clear() fires no input event; a blank filter matches every row
    assert len(machine_column(browser)) == 5
    browser.find_element("css selector", "#verdict-filter option[value='fail']").click()
    assert sorted(machine_column(browser)) == sorted(r["machine"] for r in rows if r["verdict"] == "fail")
    assert text(browser, "#shown") == "2"
    assert_clean(browser)


def test_unknown_setting_families_are_shown_generically() -> None:
    report = check(machine("win7-sp1-configured"), choose_profile("azure-backup"), "python-registry")
    report.settings += [Setting("wininet/machine/SecureProtocols", "set", "explicit", "SecureProtocols=0xa80",
                                extra={"protocols": ["TLS 1.1", "TLS 1.2"]}),
                        Setting("futurefamily/x", "on", "explicit", "<x> from a later version")]
    page = render_machine(report)
    ids = parsed(page)
    assert {"family-wininet", "family-futurefamily", "family-dotnet", "protocols"} <= ids.ids
    assert '<h2>WinINet</h2>' in page and '<h2>futurefamily</h2>' in page
    assert "protocols: TLS 1.1, TLS 1.2" in page and "&lt;x&gt; from a later version" in page
    assert page == render_machine(report)  # deterministic


def test_fleet_of_rows_without_details() -> None:
    """Rows read back from elsewhere may lack settings: the table still renders, with no heat-map columns."""
    page = render_fleet([Row("a<1>", ["a/SYSTEM"], "Windows 10", 19045, "ControlSet001", "pass", [], {"error": 0}),
                         Row("b", ["b/SYSTEM"], error="b/SYSTEM: not a hive")])
    assert 'id="m-1"' in page and 'id="m-2"' in page and "a&lt;1&gt;" in page and "b/SYSTEM: not a hive" in page
    assert "TLS1.2 C" not in page and "No machine has a finding." in page


@pytest.mark.parametrize("command", [["check", *machine("win7-sp1-configured")],
                                     ["scan", SAMPLES / "win7-sp1-configured"]])
def test_without_jinja2_one_line_names_the_extra(command: list[object]) -> None:
    code = "import sys; sys.modules['jinja2'] = None; import runpy; runpy.run_module('analyzer', run_name='__main__')"
    proc = subprocess.run([sys.executable, "-c", code, *map(str, command), "--format", "html"], capture_output=True,
                          text=True, cwd=REPO, timeout=120)
    assert (proc.returncode, proc.stdout, proc.stderr) == (
        2, "", "regtls: error: --format html needs Jinja2: pip install 'regtls[html]'\n")


@pytest.mark.skipif(not os.environ.get("REGTLS_SCREENSHOT"), reason="opt-in: set REGTLS_SCREENSHOT=docs/report.png")
def test_screenshot(browser: Any, tmp_path: Path) -> None:
    """The README's screenshot: the fleet report of the sample machines, in the tests' browser."""
    out = tmp_path / "fleet.html"
    assert regtls("scan", "samples", "--jobs", "1", "--format", "html", "--output", out, cwd=REPO)[0] == 1
    browser.set_window_size(1400, 900)
    load(browser, out)
    target = Path(os.environ["REGTLS_SCREENSHOT"])
    assert browser.save_screenshot(str(target))
    assert target.stat().st_size < 150_000


def test_the_samples_script_writes_both_reports(tmp_path: Path) -> None:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    proc = subprocess.run(["sh", str(SAMPLES / "html_reports.sh"), str(tmp_path)], capture_output=True, text=True,
                          env=env, timeout=300)
    assert proc.stdout == "" and proc.stderr.endswith(f"open {tmp_path}/machine.html and {tmp_path}/fleet.html in a "
                                                      "browser\n")
    machine_page = (tmp_path / "machine.html").read_text(encoding="utf-8")
    fleet_page = (tmp_path / "fleet.html").read_text(encoding="utf-8")
    assert 'id="what-if"' in machine_page and "Verdict: undecided" in machine_page
    machines = [d for d in SAMPLES.iterdir() if d.is_dir() and d.name != "reg"]  # one sample machine per folder
    assert fleet_page.count('<section class="machine"') == len(machines) >= 10


def test_printed_in_black_and_white(browser: Any, fleet: tuple[Path, list[dict[str, Any]], str]) -> None:
    out, rows, _ = fleet
    load(browser, out)
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        style = browser.execute_script(
            "var b = document.querySelector('#machines td.cell.bad .badge'), c = document.querySelector("
            "'#machines td.cell.bad'); return [getComputedStyle(b).color, getComputedStyle(b).backgroundColor,"
            "getComputedStyle(c).backgroundColor, getComputedStyle(b).borderTopWidth, "
            "getComputedStyle(document.querySelector('#machines td.cell.good .badge')).borderTopWidth]")
        assert style == ["rgb(0, 0, 0)", "rgba(0, 0, 0, 0)", "rgba(0, 0, 0, 0)", "2px", "1px"]  # no colour needed
        assert not browser.find_element("id", "controls").is_displayed()
        assert [r.find_element("css selector", "td.cell").text for r in
                browser.find_elements("css selector", "#machines tbody tr")] == [r["verdict"] for r in rows]
        pdf = base64.b64decode(browser.execute_cdp_cmd("Page.printToPDF", {})["data"])
        assert pdf.startswith(b"%PDF-") and len(pdf) > 10_000
    finally:
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    assert_clean(browser)
