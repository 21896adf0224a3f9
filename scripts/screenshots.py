"""Screenshots of the playground for the docs: default settings, and mid-training.

.venv/bin/python scripts/screenshots.py   # writes docs/playground-default.png, docs/playground-training.png
"""

import shutil
from pathlib import Path

from playwright.sync_api import sync_playwright

from perceptrons.playground.server import BackgroundServer

DOCS = Path(__file__).parents[1] / "docs"

with BackgroundServer() as server, sync_playwright() as p:
    browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox", "--disable-gpu"])
    page = browser.new_page(viewport={"width": 1440, "height": 860})
    page.goto(server.url)
    page.wait_for_function("window.__pg.frames >= 1")
    page.wait_for_timeout(300)
    page.screenshot(path=DOCS / "playground-default.png")
    page.goto(
        server.url
        + "#dataset=spiral&classes=3&layers=16,16,8&activation=relu&optimizer=adam&lr=0.01&batch=16&noise=0.03&n=600"
    )
    page.reload()
    page.wait_for_function("window.__pg.frames >= 1 && window.__pg.data.config.dataset === 'spiral'")
    page.check("#show-test")
    page.click("#play")
    page.wait_for_function("window.__pg.last.epoch >= 120", timeout=60000)
    page.screenshot(path=DOCS / "playground-training.png")
    browser.close()
print("wrote", DOCS / "playground-default.png", DOCS / "playground-training.png")
