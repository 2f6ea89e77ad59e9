"""The fleet report in a real headless Chromium (Debian's package, `make chromium`),
driven by Playwright: console messages, every request the page makes, and what
each chart drew."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
# Headless on a shared machine without a GPU or a sandbox-capable kernel setup,
# and nothing phoned home by the browser itself (updates, sync, QUIC probes).
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]


@dataclass(frozen=True)
class PageVisit:
    console_errors: list[str]
    requests: list[str]
    rendered: str | None  # body[data-rendered]: "yes" once every chart resolved
    charts: dict[str, int]  # chart id -> SVG elements drawn inside it
    chart_sizes: dict[str, tuple[float, float]]  # chart id -> SVG width, height
    load_seconds: float  # from navigation to every chart drawn, the best of the loads
    # CPU time of the page's main thread by then (parse, script, layout, paint), the
    # best of the loads: the page's own work, whatever else the machine is doing
    main_thread_cpu_seconds: float


def visit(page_path: Path, screenshot: Path, loads: int = 3,
          timeout_ms: int = 30_000) -> PageVisit:
    """Open the page `loads` times, each in a new browser with a new empty profile (a
    first visit every time: no cache); what it logs and requests on any load is kept,
    its time is the best of the loads (the machine is shared), the charts and the
    screenshot are the last load's."""
    from playwright.sync_api import sync_playwright

    console_errors: list[str] = []
    requests: list[str] = []
    timings: list[float] = []
    cpu_times: list[float] = []
    with sync_playwright() as playwright:
        for _ in range(loads):
            profile = tempfile.mkdtemp(prefix="fleetwatch-chromium-")
            try:
                browser = playwright.chromium.launch_persistent_context(
                    profile, executable_path=str(CHROMIUM), headless=True,
                    args=CHROMIUM_FLAGS, viewport={"width": 1200, "height": 900})
                try:
                    page = browser.new_page()
                    devtools = browser.new_cdp_session(page)
                    devtools.send("Performance.enable")
                    page.on("console", lambda message: console_errors.append(message.text)
                            if message.type == "error" else None)
                    page.on("pageerror", lambda error: console_errors.append(str(error)))
                    page.on("request", lambda request: requests.append(request.url))
                    page.goto(page_path.resolve().as_uri(), wait_until="load")
                    page.wait_for_selector("body[data-rendered]", state="attached",
                                           timeout=timeout_ms)
                    rendered = page.get_attribute("body", "data-rendered")
                    if rendered == "yes":
                        timings.append(int(page.get_attribute("body", "data-rendered-ms")) / 1000)
                        metrics = {metric["name"]: metric["value"] for metric in
                                   devtools.send("Performance.getMetrics")["metrics"]}
                        cpu_times.append(metrics["ThreadTime"])
                    charts = page.evaluate(_CHART_MARKS)
                    sizes = page.evaluate(_CHART_SIZES)
                    screenshot.parent.mkdir(parents=True, exist_ok=True)
                    page.screenshot(path=str(screenshot), full_page=True)
                finally:
                    browser.close()
            finally:
                shutil.rmtree(profile, ignore_errors=True)
    return PageVisit(console_errors, requests, rendered, charts,
                     {key: tuple(value) for key, value in sizes.items()},
                     min(timings, default=float("inf")), min(cpu_times, default=float("inf")))


# chart id -> the SVG elements drawn in it (marks, axes, labels)
_CHART_MARKS = """() => Object.fromEntries([...document.querySelectorAll('div.chart')].map(div => {
    const svg = div.querySelector('svg');
    return [div.id, svg ? svg.querySelectorAll('path, rect, line, text').length : 0]; }))"""
_CHART_SIZES = """() => Object.fromEntries([...document.querySelectorAll('div.chart')].map(div => {
    const svg = div.querySelector('svg');
    const box = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
    return [div.id, [box.width, box.height]]; }))"""
