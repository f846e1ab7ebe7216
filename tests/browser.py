"""Real-browser tests: the app and the WeChat and Aliyun SMS emulators served from a thread of their own (the
browser blocks the test's thread), and headless Chromium through selenium with Debian's chromium-driver, as a
phone in WeChat (390x844, WeChat's user agent). Each page a journey visits is checked as a person would meet
it: no console error, every input labelled, text contrast of 4.5:1 or more, no raw code or English key on
screen. Every step is photographed under var/screenshots/<test>/."""
from __future__ import annotations

import asyncio
import dataclasses
import re
import shutil
import threading
from pathlib import Path

import pytest
from tornado.httpserver import HTTPServer
from tornado.testing import bind_unused_port

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "var" / "screenshots"
WECHAT_UA = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
             "Mobile/15E148 MicroMessenger/8.0.50(0x1800322c) NetType/WIFI Language/zh_CN")
CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")



def live_server_fixture():
    """A module's `live` fixture: one LiveServer for all the journeys of a test module."""
    @pytest.fixture(scope="module")
    def live(config):
        server = LiveServer(config)
        yield server
        server.stop()
    return live


def browser_fixture(make):
    """A test's `browser` fixture: a fresh Chromium from `make` (phone_browser or desktop_browser), quit after."""
    @pytest.fixture
    def browser():
        driver = make()
        yield driver
        driver.quit()
    return browser


class LiveServer:
    """The application and the emulators on free local ports, in a thread with its own event loop."""

    def __init__(self, config):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        sockets = [bind_unused_port() for _ in range(3)]
        self.port, wx_port, sms_port = (port for _, port in sockets)
        self.base = f"http://127.0.0.1:{self.port}"
        self.config = dataclasses.replace(
            config, public_base_url=self.base, wechat_api_base=f"http://127.0.0.1:{wx_port}/",
            aliyun_sms_endpoint=f"127.0.0.1:{sms_port}")
        self.servers = self.call(self._start([sock for sock, _ in sockets]))

    async def _start(self, socks):
        from emulators.aliyun_sms import make_emulator_app as sms_app
        from emulators.wechat import make_emulator_app as wechat_app
        from server.app import Application
        c = self.config
        self.app = Application(c)
        await self.app.start()
        apps = [self.app, wechat_app({c.wechat_app_id: c.wechat_app_secret}),
                sms_app({c.aliyun_access_key_id: c.aliyun_access_key_secret}, site=self.base)]
        servers = []
        for sock, app in zip(socks, apps, strict=True):
            server = HTTPServer(app)
            server.add_sockets([sock])
            servers.append(server)
        return servers

    def call(self, coro, timeout: float = 60):
        """Runs a coroutine on the server's loop (e.g. World helpers that write to the database)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self):
        async def close():
            for server in self.servers:
                server.stop()
            await self.app.stop()
        self.call(close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def _chromium(configure):
    assert CHROMIUM and CHROMEDRIVER, "chromium and chromium-driver are missing: scripts/test installs them"
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--lang=zh-CN"):
        options.add_argument(arg)
    configure(options)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    return driver


def phone_browser():
    """A phone in WeChat: 390x844, WeChat's user agent (the H5 pages)."""
    return _chromium(lambda options: options.add_experimental_option("mobileEmulation", {
        "deviceMetrics": {"width": 390, "height": 844, "pixelRatio": 3}, "userAgent": WECHAT_UA}))


def desktop_browser(width: int = 1440, height: int = 900):
    """A staff PC: a 1440x900 window (the console pages)."""
    return _chromium(lambda options: options.add_argument(f"--window-size={width},{height}"))


# Run in the page: what a person would stumble over.
PAGE_PROBLEMS_JS = r"""
const problems = [];
const visible = el => { const s = getComputedStyle(el); const r = el.getBoundingClientRect();
  return s.display !== 'none' && s.visibility !== 'hidden' && r.width > 0 && r.height > 0; };
for (const el of document.querySelectorAll('input, select, textarea')) {
  if (['hidden', 'submit', 'button'].includes(el.type) || !visible(el)) continue;
  if (!(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
    problems.push('unlabelled ' + el.tagName.toLowerCase() + ' ' + (el.name || el.id));
}
const rgb = c => (c.match(/[\d.]+/g) || []).map(Number);
const lum = ([r, g, b]) => { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
  return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
const background = el => { for (let e = el; e; e = e.parentElement) {
  const c = rgb(getComputedStyle(e).backgroundColor); if (c.length === 3 || (c.length === 4 && c[3] > 0.5)) return c; }
  return [255, 255, 255]; };
for (const el of document.body.querySelectorAll('*')) {
  if (!visible(el) || ['SCRIPT', 'STYLE', 'OPTION'].includes(el.tagName)) continue;
  const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
  if (!own) continue;
  const s = getComputedStyle(el); const a = lum(rgb(s.color)), b = lum(background(el));
  const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
  const large = parseFloat(s.fontSize) >= 24 || (parseFloat(s.fontSize) >= 18.66 && parseInt(s.fontWeight) >= 700);
  if (ratio < (large ? 3 : 4.5)) problems.push('contrast ' + ratio.toFixed(2) + ': ' + el.textContent.trim().slice(0, 30));
}
return problems;
"""
# What a page weighs before its images: the HTML, its stylesheets and scripts (uncompressed).
PAGE_BUDGET_BYTES = 50 * 1024
PAGE_WEIGHT_JS = r"""
const nav = performance.getEntriesByType('navigation')[0];
let total = nav ? nav.decodedBodySize : 0;
for (const r of performance.getEntriesByType('resource'))
  if (['link', 'script', 'css'].includes(r.initiatorType) || /\.(css|js)(\?|$)/.test(r.name)) total += r.decodedBodySize;
return total;
"""
# Words a graduate must never read: snake_case or kebab-case keys, programming values, English field names.
RAW_TEXT = re.compile(r"\b[a-z]+(?:[_-][a-z0-9]+)+\b|\b(?:None|null|undefined|NaN|True|False|Traceback)\b"
                      r"|\b(?:postcode|unit_name|type_code|kind|state|action|upload)\b")


class Journey:
    """One person's walk through the pages, checked and photographed at each step."""

    def __init__(self, driver, server: LiveServer, name: str):
        self.driver, self.server = driver, server
        self.dir = SCREENSHOTS / name
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.steps = 0
        self.weights: dict[str, int] = {}  # step -> bytes of HTML, CSS and JS (PAGE_WEIGHT_JS), our pages only

    def open(self, path: str):
        self.driver.get(self.server.base + path if path.startswith("/") else path)

    def check(self, step: str, ours: bool = True) -> str:
        """Photographs the page, then checks it; returns its visible text."""
        from selenium.webdriver.common.by import By
        self.steps += 1
        self.driver.save_screenshot(str(self.dir / f"{self.steps:02d}-{step}.png"))
        here = self.driver.current_url
        # a page that answers a refused form with its 4xx status is meant; any other failure is not
        severe = [e["message"] for e in self.driver.get_log("browser") if e["level"] == "SEVERE"
                  and "favicon.ico" not in e["message"]
                  and not (e.get("source") == "network" and e["message"].startswith(here + " "))]
        assert severe == [], (step, severe)
        text = self.driver.find_element(By.TAG_NAME, "body").text
        if ours:
            assert self.driver.execute_script(PAGE_PROBLEMS_JS) == [], step
            assert not RAW_TEXT.findall(text), (step, RAW_TEXT.findall(text))
            self.weights[step] = self.driver.execute_script(PAGE_WEIGHT_JS)
        return text

    def assert_light(self) -> None:
        """Every page of the journey under PAGE_BUDGET_BYTES before images; prints the heaviest."""
        step, weight = max(self.weights.items(), key=lambda sw: sw[1])
        print(f"{self.dir.name}: heaviest page {step}, {weight} bytes of HTML, CSS and JS")
        assert weight <= PAGE_BUDGET_BYTES, self.weights

    def fill(self, fields: dict):
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import Select
        for name, value in fields.items():
            el = self.driver.find_element(By.NAME, name)
            if el.tag_name == "select":
                Select(el).select_by_value(value)
            else:
                el.clear()
                el.send_keys(value)

    def click(self, css: str):
        from selenium.webdriver.common.by import By
        self.driver.find_element(By.CSS_SELECTOR, css).click()

    def submit(self, css: str, seconds: float = 30):
        """Clicks what sends the page away (a form's button, a dialog's 确定) and waits for the next page, so
        that the next check sees it and not the old one under its loading toast."""
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import WebDriverWait
        old = self.driver.find_element(By.TAG_NAME, "html")
        self.click(css)

        def old_page_gone(_driver) -> bool:
            try:
                old.is_enabled()
            except WebDriverException:  # stale, or "does not belong to the document" mid-navigation
                return True
            return False
        WebDriverWait(self.driver, seconds).until(old_page_gone)
        WebDriverWait(self.driver, seconds).until(lambda d: d.execute_script("return document.readyState") == "complete")

    def wait_text(self, css: str, text: str, seconds: float = 15):
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as ec
        from selenium.webdriver.support.ui import WebDriverWait
        WebDriverWait(self.driver, seconds).until(ec.text_to_be_present_in_element((By.CSS_SELECTOR, css), text))
