"""Screenshots of the playground for the docs: default settings, mid-training, the backward pass, a phone.

.venv/bin/python scripts/screenshots.py   # writes docs/playground-{default,training,backward,phone,projector}.png
"""

import shutil
from pathlib import Path

from playwright.sync_api import sync_playwright

from perceptrons.playground.server import BackgroundServer

DOCS = Path(__file__).parents[1] / "docs"
DESK = {"width": 1440, "height": 900}


def shoot(browser, url, name, viewport=DESK, epochs=0, setup=None, full_page=False):
    page = browser.new_page(viewport=viewport)
    page.goto(url)
    page.wait_for_function("window.__pg.drawn >= 1")
    if setup:
        setup(page)
    if epochs:
        page.get_by_role("button", name="Play").click()
        page.wait_for_function(f"window.__pg.last.epoch >= {epochs}", timeout=120000)
        page.get_by_role("button", name="Pause").click()
    page.wait_for_timeout(400)
    page.screenshot(path=DOCS / name, full_page=full_page)
    page.close()


with BackgroundServer() as server, sync_playwright() as p:
    browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox", "--disable-gpu"])
    shoot(browser, server.url, "playground-default.png")
    # the spiral with the page's defaults, test points shown
    shoot(
        browser,
        server.url + "#dataset=spiral&noise=0.02&classes=2",
        "playground-training.png",
        epochs=400,
        setup=lambda page: page.get_by_label("Show test data").check(),
    )
    # the backward pass of a deeper ReLU network: gradient-coloured wires, gradient maps, norms, dead units
    shoot(
        browser,
        server.url + "#dataset=xor&noise=0.05&layers=8,8,8,8&activation=relu&lr=0.03",
        "playground-backward.png",
        epochs=60,
        setup=lambda page: page.get_by_label("Network view").select_option("backward"),
    )
    shoot(browser, server.url, "playground-phone.png", viewport={"width": 390, "height": 844}, epochs=30)
    # a lecture: the largest network on a 1920x1080 projector (the output grows with the screen)
    shoot(
        browser,
        server.url + "#layers=64,64,64,64,64,64&activation=relu&lr=0.01",
        "playground-projector.png",
        viewport={"width": 1920, "height": 1080},
        epochs=40,
    )
    browser.close()
print("wrote", *(DOCS / f"playground-{n}.png" for n in ("default", "training", "backward", "phone", "projector")))
