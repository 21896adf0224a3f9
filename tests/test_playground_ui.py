"""The playground in a user's hands (issue 15): each broken item reproduced in a real Chromium and its
fix asserted, the layout at 1440x900 and on a 390x844 phone, the backward pass, features, regression;
plus the session facts behind them (the run's schedule replayed by the Python code, loss warnings)."""

import math
import shutil

import numpy as np
import pytest

import perceptrons
from perceptrons import datasets
from perceptrons.playground.server import BackgroundServer
from perceptrons.playground.session import GRADCHECK_SAMPLE, Session, loss_warning, python_code

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DESK = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}


# -- session facts ------------------------------------------------------------------------------
def _run_code(code):
    ns: dict = {}
    exec(code, ns)  # noqa: S102 - our own generated code
    return ns["net"]


def test_python_code_replays_mid_run_changes_bit_for_bit():
    s = Session({"dataset": "moons", "layers": [5, 3], "features": ["x1", "x2", "x1*x2", "sin(x2)"], "lr": 0.03})
    for _ in range(10):
        s.epoch()
    s.set_lr(0.3)
    for _ in range(10):
        s.epoch()
    s.set_weight(1, 2, 0, 0.75)
    for _ in range(3):
        s.epoch()
    net = _run_code(python_code(s.config, s.epochs))
    for k in s.net.params:
        np.testing.assert_array_equal(net.params[k], s.net.params[k])
    # the schedule alone (what the share link carries) replays the same run
    again = Session(s.config)
    for _ in range(23):
        again.epoch()
    np.testing.assert_array_equal(again.net.flat_params, s.net.flat_params)
    # the code without the change is a different run: the schedule matters
    plain = {**s.config, "schedule": []}
    assert not np.array_equal(_run_code(python_code(plain, 23)).flat_params, s.net.flat_params)


def test_regression_session_and_its_code():
    s = Session({"dataset": "bumps", "layers": [8, 8], "noise": 0.0})
    first = s.frame()
    for _ in range(30):
        s.epoch()
    last = s.frame()
    assert last["train_acc"] is None and last["regression"]
    assert last["train_loss"] < first["train_loss"]
    net = _run_code(python_code(s.config, s.epochs))
    np.testing.assert_array_equal(net.flat_params, s.net.flat_params)
    # the identity head's loss by hand: mean of (z - y)^2 / 2
    z = net.forward(s.Xtr)[:, 0]
    assert math.isclose(last["train_loss"], float(np.mean((z - s.ytr) ** 2) / 2), rel_tol=1e-12)


def test_regression_data_sets_by_hand():
    X, y = datasets.plane(50, noise=0.0, seed=2)
    np.testing.assert_array_equal(y, (X[:, 0] + X[:, 1]) / 2)
    X, y = datasets.bumps(50, noise=0.0, seed=2)
    assert np.abs(X).max() <= 1 and math.isclose(
        datasets.bumps(1, noise=0.0, seed=0)[1][0],
        sum(
            s * math.exp(-((x0 - cx) ** 2 + (x1 - cy) ** 2) / (2 * 0.35**2))
            for (cx, cy, s) in ((0.5, 0.5, 1), (-0.5, 0.5, -1), (-0.5, -0.5, 1), (0.5, -0.5, -1))
            for x0, x1 in [datasets.bumps(1, noise=0.0, seed=0)[0][0]]
        ),
        rel_tol=1e-12,
    )


def test_drawn_classes_keep_their_numbers_and_few_points_all_train():
    s = Session({"dataset": "custom", "points": [[0, 0, 0], [1, 1, 2], [0.5, 0.2, 2]], "window": [-2, 2, -2, 2]})
    assert s.n_outputs == 3 and sorted(s.ytr.tolist()) == [0, 2, 2] and len(s.yte) == 0
    assert s.window == [-2.0, 2.0, -2.0, 2.0]
    f = s.frame()
    assert f["test_loss"] is None and f["train_loss"] is not None


def test_backward_pass_deltas_make_the_reference_gradient():
    """h_i^T delta_i / N is dW_i, the core's reference gradient (here without penalty)."""
    s = Session({"dataset": "xor", "layers": [6, 4], "activation": "relu"})
    grads, deltas, _ = s.backward()
    n = len(s.ytr)
    h = s.Xtr
    for i, d in enumerate(deltas):
        np.testing.assert_allclose(h.T @ d / n, grads[f"W{i}"], rtol=1e-10, atol=1e-14)
        h = np.maximum(h @ s.net.params[f"W{i}"] + s.net.params[f"b{i}"], 0)
    s.net.params["b0"][1] = -1e3  # a unit that never fires: dead, by hand
    s.net.params["b1"][:] = 1e3  # and a layer whose units all fire everywhere: none dead
    assert s.frame()["dead"][0] >= 1 and s.frame()["dead"][1] == 0


def test_gradient_check_runs_for_the_largest_network_on_a_fresh_sample_each_time():
    s = Session({"layers": [64] * 6, "activation": "relu"})
    n_params = sum(v.size for v in s.net.params.values())
    checks = [s.frame()["gradcheck"] for _ in range(2)]
    for g in checks:
        assert (
            g["passed"]
            and g["entries"] == n_params == 21122
            and GRADCHECK_SAMPLE <= g["checked"] < 2 * GRADCHECK_SAMPLE
        )
    # an independent oracle at the entries a sampled check drew: the textbook loop of central differences
    rng = np.random.default_rng([1, 15])  # the session's check stream (init_seed 1)
    res = perceptrons.gradcheck(s.net, s.Xtr[:16], s.ttr[:16], sample=GRADCHECK_SAMPLE, seed=rng)
    net = perceptrons.MLP(s.net.sizes, activation="relu", seed=0)
    net.params = {k: v.copy() for k, v in s.net.params.items()}
    for k, c in res.checks.items():
        for idx in zip(*np.nonzero(c.checked)):
            old = net.params[k][idx]
            net.params[k][idx] = old + 1e-5
            up = net.loss(s.Xtr[:16], s.ttr[:16])
            net.params[k][idx] = old - 1e-5
            down = net.loss(s.Xtr[:16], s.ttr[:16])
            net.params[k][idx] = old
            assert c.numeric[idx] == pytest.approx((up - down) / 2e-5, rel=1e-6, abs=1e-9)
    small = Session({"layers": [8, 8]}).frame()["gradcheck"]
    assert small["checked"] == small["entries"] == 2 * 8 + 8 + 8 * 8 + 8 + 8 * 2 + 2  # a small network: every entry


@pytest.mark.parametrize(
    "losses, words",
    [
        ([0.7, 0.5, 0.4, 3.0], "rising"),
        ([0.6, 0.3] * 8, "oscillates"),
        ([0.69] * 110, "stuck"),
        ([0.69 * 0.97**k for k in range(70)], None),
        ([0.05, 0.04] * 8, None),  # SGD's jitter near a minimum
        ([0.678] * 150, None),  # a long plateau a little below chance (the spiral before it learns)
        ([0.7, 0.3, 3.0, 0.2], None),  # risen, then recovered
    ],
)
def test_loss_warnings_by_hand(losses, words):
    got = loss_warning(losses, chance=math.log(2))
    assert (got is None) if words is None else (words in got)


# -- the page ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def browser_url():
    from playwright.sync_api import sync_playwright

    assert CHROMIUM, "Chromium is missing: run the README's test command (scripts/test.sh installs it)"
    with BackgroundServer() as server, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield browser, server.url
        browser.close()


@pytest.fixture
def open_page(browser_url):
    browser, url = browser_url
    contexts = []

    def make(hash_="", viewport=DESK, **kw):
        ctx = browser.new_context(viewport=viewport, **kw)
        contexts.append(ctx)
        page = ctx.new_page()
        page.errors = []
        page.on("pageerror", lambda e: page.errors.append(str(e)))
        page.goto(url + hash_)
        page.wait_for_function("window.__pg.drawn >= 1", timeout=20000)
        return page

    yield make
    for ctx in contexts:
        ctx.close()


def _epoch(page, n):
    page.wait_for_function(f"window.__pg.last && window.__pg.last.epoch === {n}", timeout=20000)


def _params(page, tmp_path, name):
    with page.expect_download() as dl:
        page.get_by_role("button", name="Download model").click()
    path = tmp_path / name
    dl.value.save_as(path)
    return perceptrons.load(path)


def test_weight_tooltips_are_reachable_and_a_click_edits_the_weight(open_page):
    page = open_page()
    wires = page.evaluate("window.__pg.wires")
    assert len(wires) == 2 * 8 + 8 * 8 + 8 * 2  # 96, every one drawn
    box = page.locator("#net-canvas").bounding_box()
    mids = [(box["x"] + (w[3] + w[5]) / 2, box["y"] + (w[4] + w[6]) / 2) for w in wires]
    on_top = page.evaluate("(pts) => pts.map(([x, y]) => document.elementFromPoint(x, y).id)", mids)
    assert on_top == ["net-canvas"] * 96

    # hover a point a little way along each chosen wire: the tooltip names the wire nearest to the pointer
    def dist(w, x, y):
        t = ((x - w[3]) * (w[5] - w[3]) + (y - w[4]) * (w[6] - w[4])) / ((w[5] - w[3]) ** 2 + (w[6] - w[4]) ** 2)
        t = min(1.0, max(0.0, t))
        return math.hypot(w[3] + t * (w[5] - w[3]) - x, w[4] + t * (w[6] - w[4]) - y)

    def named(text):
        return tuple(int(v) for v in text.split("]")[0].replace("W", "").replace("[", ",").split(","))

    for k in (0, 40, 95):
        w = wires[k]
        x, y = w[3] + (w[5] - w[3]) * 0.23, w[4] + (w[6] - w[4]) * 0.23
        page.mouse.move(box["x"] + x, box["y"] + y)
        tip = page.locator("#tip")
        tip.wait_for(state="visible")
        page.wait_for_function("document.getElementById('tip').textContent.startsWith('W')")
        text = tip.inner_text()
        layer, i, j = named(text)
        hit = wires[[tuple(v[:3]) for v in wires].index((layer, i, j))]
        assert dist(hit, x, y) <= min(dist(v, x, y) for v in wires) + 0.5
        value = page.evaluate(f"window.__pg.weight({layer}, {i}, {j})[0]")
        assert float(text.split("=")[1].split()[0]) == pytest.approx(value, rel=1e-3, abs=1e-6)
    # click a weight, type a value: the frame carries it and the link records it
    page.mouse.click(box["x"] + x, box["y"] + y)
    assert page.locator("#tip").is_hidden()  # the editor replaces the tooltip, nothing peeks out beside it
    layer, i, j = named(page.locator("#weight-name").inner_text())
    assert (layer, i, j) == named(text)
    page.get_by_role("spinbutton", name="Weight W").fill("2.5")
    page.get_by_role("button", name="Set", exact=True).click()
    page.wait_for_function(f"window.__pg.weight({layer}, {i}, {j})[0] === 2.5", timeout=10000)
    assert '"weight"' in page.evaluate("decodeURIComponent(location.hash)")
    assert page.errors == []


def test_the_page_shows_the_sampled_gradient_check_of_the_largest_network(open_page):
    page = open_page("#layers=64,64,64,64,64,64&activation=relu")
    text = page.locator("#gradcheck").inner_text()
    assert "passed" in text and "of 21,122 sampled" in text
    assert "drawn at random afresh at each check" in page.locator("#gradcheck").get_attribute("title")
    text = open_page().locator("#gradcheck").inner_text()
    assert "passed" in text and "sampled" not in text


def test_a_large_network_draws_its_strongest_wires_with_their_true_values(open_page, tmp_path):
    page = open_page("#layers=64,64,64,64,64,64&activation=relu&lr=0.01")
    net = _params(page, tmp_path, "big.npz")  # the weights themselves, from the model file
    wires = page.evaluate("window.__pg.wires")
    for layer in range(1, 6):  # each 64 x 64 layer: exactly its 400 strongest weights
        drawn = {i * 64 + j for li, i, j, *_ in wires if li == layer}
        assert drawn == set(np.argsort(-np.abs(net.params[f"W{layer}"].ravel()))[:400].tolist())
    for li, i, j, *_ in wires[::97]:
        shown = page.evaluate(f"window.__pg.weight({li}, {i}, {j})[0]")
        assert shown == pytest.approx(net.params[f"W{li}"][i, j], rel=1e-6)
    # the backward view: the strongest by |dLoss/dW| of the training set, by the core's reference gradient
    page.get_by_label("Network view").select_option("backward")
    page.wait_for_function("document.getElementById('net-hint').textContent.startsWith('Backward')")
    s = Session({"layers": [64] * 6, "activation": "relu", "lr": 0.01})
    _, grads = s.net.loss_and_grads(s.Xtr, s.ttr)
    wires = page.evaluate("window.__pg.wires")
    drawn = {i * 64 + j for li, i, j, *_ in wires if li == 3}
    assert drawn == set(np.argsort(-np.abs(grads["W3"].ravel()))[:400].tolist())


def test_classes_slider_only_where_it_means_something(open_page):
    page = open_page()
    assert not page.locator("#classes").is_visible()
    for name, shown in (("blobs", True), ("moons", False), ("spiral", True), ("circles", False)):
        page.get_by_role("button", name=name, exact=True).click()
        page.wait_for_function(f"window.__pg.data.config.dataset === '{name}'", timeout=10000)
        assert page.locator("#classes").is_visible() == shown


def _pixel(page, x, y):
    return page.evaluate(f"Array.from(document.getElementById('heat').getContext('2d').getImageData({x},{y},1,1).data)")


def test_drawing_points_shows_each_click_keeps_classes_and_view(open_page):
    page = open_page("#test_ratio=0.9")
    window = page.evaluate("window.__pg.data.window")
    page.get_by_label("Draw points").check()
    page.get_by_label("Class to draw").select_option("0")
    heat = page.locator("#heat")
    heat.click(position={"x": 100, "y": 100})
    # the first click shows at once, in class 0's colour, though one class cannot train yet
    page.wait_for_timeout(300)
    assert _pixel(page, 100, 100)[:3] == [0, 114, 178]
    page.get_by_label("Class to draw").select_option("2")
    heat.click(position={"x": 260, "y": 250})
    page.wait_for_function("window.__pg.data.config.dataset === 'custom'", timeout=10000)
    page.wait_for_timeout(300)
    data = page.evaluate("window.__pg.data")
    assert sorted(p[2] for p in data["train"]) == [0, 2]  # class 2 stays 2 (and keeps its colour)
    assert data["test"] == []  # a handful of points all train: none vanishes into a hidden test set
    assert data["window"] == pytest.approx(window, abs=1e-3)  # the view stays: points stay under the cursor
    assert _pixel(page, 260, 250)[:3] == [0, 158, 115]
    for k in range(3):  # more clicks: each appears where it was clicked
        heat.click(position={"x": 60 + 40 * k, "y": 300})
        page.wait_for_timeout(250)
        assert _pixel(page, 60 + 40 * k, 300)[:3] == [0, 158, 115]
    page.wait_for_function("window.__pg.data.train.length === 5", timeout=10000)
    assert page.evaluate("window.__pg.data.window") == pytest.approx(window, abs=1e-3)
    for k in range(6):  # from 10 points on, 90 % go to the test set: shown, not hidden
        heat.click(position={"x": 60 + 40 * k, "y": 60})
    page.wait_for_function("window.__pg.data.train.length + window.__pg.data.test.length === 11", timeout=10000)
    assert len(page.evaluate("window.__pg.data.test")) > 0
    assert page.get_by_label("Show test data").is_checked() and page.get_by_label("Show training data").is_checked()


def test_malformed_links_fall_back_field_by_field(open_page):
    page = open_page("#dataset=custom&points=[[1,2&noise=0.2")
    assert page.evaluate("window.__pg.data.config.dataset") == "circles"
    assert page.evaluate("window.__pg.data.config.noise") == 0.2  # the good field is kept
    assert "points" in page.locator("#notice").inner_text()
    page = open_page("#layers=abc&lr=foo&batch=16")
    cfg = page.evaluate("window.__pg.data.config")
    assert cfg["layers"] == [8, 8] and cfg["lr"] == 0.1 and cfg["batch"] == 16
    note = page.locator("#notice").inner_text()
    assert "layers=abc" in note and "lr=foo" in note
    assert page.evaluate("window.__pg.last.epoch") == 0 and page.errors == []


def test_python_code_and_link_reproduce_a_run_with_a_mid_run_change(open_page, tmp_path):
    page = open_page("#dataset=moons&layers=6,4&optimizer=momentum")
    page.get_by_label("Learning rate").select_option("0.03")
    page.wait_for_function("window.__pg.last.lr === 0.03", timeout=10000)
    page.locator("body").click(position={"x": 5, "y": 890})
    for k in range(10):  # the keyboard: right arrow steps one epoch
        page.keyboard.press("ArrowRight")
        _epoch(page, k + 1)
    page.get_by_label("Learning rate").select_option("0.3")
    page.wait_for_function("window.__pg.last.lr === 0.3", timeout=10000)
    for k in range(10, 20):
        page.get_by_role("button", name="Step one epoch").click()
        _epoch(page, k + 1)
    shown = _params(page, tmp_path, "page.npz")
    page.get_by_role("button", name="Python").click()
    page.wait_for_selector("#code-dialog[open]")
    code = page.locator("#code").inner_text()
    assert "opt.lr = 0.3" in code
    net = _run_code(code)
    np.testing.assert_array_equal(net.flat_params, shown.flat_params)
    # the link opens at the copied epoch: the same weights bit for bit, the same loss shown, no frame before it
    page.keyboard.press("Escape")
    page.get_by_role("button", name="Share link").click()
    assert "epoch=20" in page.url
    other = open_page("#" + page.url.split("#", 1)[1])
    assert other.evaluate("[window.__pg.last.epoch, window.__pg.frames]") == [20, 1]
    assert other.evaluate("window.__pg.last.lr") == 0.3
    for k in ("train_loss", "test_loss", "train_acc", "test_acc"):
        assert other.locator(f"#{k}").inner_text() == page.locator(f"#{k}").inner_text()
    assert other.evaluate("window.__pg.last.weights") == page.evaluate("window.__pg.last.weights")
    np.testing.assert_array_equal(_params(other, tmp_path, "link.npz").flat_params, shown.flat_params)
    assert other.evaluate("window.__pg.curves.epoch.length") == 21  # the loss curve it went through
    assert "Opened the shared run at epoch 20" in other.locator("#notice").inner_text()
    # and it goes on as the sender's run does (optimizer state and sample order included)
    for p in (page, other):
        p.get_by_role("button", name="Step one epoch").click()
        _epoch(p, 21)
    np.testing.assert_array_equal(
        _params(other, tmp_path, "a.npz").flat_params, _params(page, tmp_path, "b.npz").flat_params
    )
    # reset goes back to the run's start, and the address bar follows
    other.get_by_role("button", name="Reset").click()
    _epoch(other, 0)
    other.wait_for_function("!location.hash.includes('epoch=')", timeout=5000)


def test_invalid_batch_is_refused_and_limits_say_why(open_page):
    page = open_page()
    batch = page.get_by_label("Batch size")
    for bad in ("0", "abc", "2.5", "99999"):
        batch.fill(bad)
        batch.dispatch_event("change")
        assert batch.input_value() == "10"
        assert "Batch size must be a whole number" in page.locator("#error").inner_text()
        assert "batch=10" in page.url
    batch.fill("32")
    batch.dispatch_event("change")
    page.wait_for_function("window.__pg.data.config.batch === 32", timeout=10000)
    page = open_page("#layers=2,2,2,2,2,64")
    add = page.get_by_role("button", name="Add a hidden layer")
    assert add.is_disabled() and "At most 6 hidden layers" in page.locator("#net-note").inner_text()
    assert page.get_by_role("button", name="Add a unit to hidden layer 6").is_disabled()
    assert not page.get_by_role("button", name="Add a unit to hidden layer 5").is_disabled()
    assert "At most 64 units" in page.locator("#net-note").inner_text()


def test_divergence_without_nan_is_warned_once(open_page):
    page = open_page("#lr=10")
    page.get_by_role("button", name="Play").click()
    page.wait_for_selector("#warning:not([hidden])", timeout=30000)
    text = page.locator("#warning").inner_text()
    assert "learning rate" in text
    page.wait_for_timeout(1500)
    assert page.locator("#warning").inner_text() == text and page.locator("[role=alert]:visible").count() == 1
    page.get_by_role("button", name="Pause").click()


def test_every_control_has_an_accessible_name(open_page):
    page = open_page()
    nameless = page.evaluate(
        """() => [...document.querySelectorAll('button, input, select')].filter((el) => {
             if (el.closest('[hidden]')) return false;
             const label = el.getAttribute('aria-label') || [...(el.labels || [])].map((l) => l.textContent).join('')
               || el.textContent;
             return !/[A-Za-z]{2}/.test(label || '');
           }).map((el) => el.outerHTML.slice(0, 80))"""
    )
    assert nameless == []
    play = page.get_by_role("button", name="Play")
    play.click()
    page.get_by_role("button", name="Pause").wait_for()
    page.get_by_role("button", name="Pause").click()
    for name in ("Reset", "Step one epoch", "Share link", "Download model", "Python", "Add a hidden layer"):
        assert page.get_by_role("button", name=name).count() == 1
    for name in ("Learning rate", "Activation", "Batch size", "Noise", "Test share", "Problem"):
        assert page.get_by_label(name, exact=True).count() == 1
    # the keyboard: space plays and pauses
    page.locator("body").click(position={"x": 5, "y": 890})
    page.keyboard.press(" ")
    page.get_by_role("button", name="Pause").wait_for()
    page.keyboard.press(" ")
    page.get_by_role("button", name="Play").wait_for()


PROJECTOR = {"width": 1920, "height": 1080}
LOW_PROJECTOR = {"width": 1280, "height": 720}


@pytest.mark.parametrize("viewport", [PHONE, {"width": 360, "height": 740}, DESK, PROJECTOR, LOW_PROJECTOR])
def test_layout_fits_the_screen_and_the_header_holds_still(open_page, viewport):
    page = open_page(viewport=viewport)
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    heat = page.locator("#heat").bounding_box()
    assert heat["x"] >= 0 and heat["x"] + heat["width"] <= viewport["width"]
    if viewport["width"] < 800:  # the output comes first on a narrow screen
        assert heat["y"] < page.locator("#net-canvas").bounding_box()["y"]
        assert heat["y"] + heat["height"] < viewport["height"] * 1.0
    header = page.locator("header").bounding_box()
    page.evaluate(
        "document.getElementById('epoch').textContent = '123456'; document.getElementById('steps').textContent = '12345678'"
    )
    assert page.locator("header").bounding_box() == header
    page.screenshot(path=f"/tmp/playground-{viewport['width']}.png")


@pytest.mark.parametrize("viewport, least", [(PROJECTOR, 600), (LOW_PROJECTOR, 250), (DESK, 360)])
def test_the_output_follows_the_screen_in_a_lecture(open_page, viewport, least):
    """A projector gets a large output panel; a low one keeps the loss chart in view; canvases stay crisp."""
    page = open_page(viewport=viewport)
    heat = page.locator("#heat").bounding_box()
    assert heat["width"] >= least and heat["width"] == heat["height"]
    assert page.evaluate("document.getElementById('heat').width") == round(heat["width"])  # a pixel per pixel
    curves = page.locator("#curves").bounding_box()
    assert curves["y"] + curves["height"] / 2 < viewport["height"]  # the loss chart is (mostly) on the screen
    net = page.locator("#net-canvas").bounding_box()
    assert net["y"] + net["height"] <= viewport["height"] or viewport["height"] < 800
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    # the points are drawn to the panel's scale: a training point's colour sits where the data says
    x, y, c = page.evaluate("window.__pg.data.train[0]")
    window = page.evaluate("window.__pg.data.window")
    w = page.evaluate("document.getElementById('heat').width")
    px, py = round((x - window[0]) / (window[1] - window[0]) * w), round((window[3] - y) / (window[3] - window[2]) * w)
    colour = [[0, 114, 178], [230, 159, 0]][c]
    assert _pixel(page, px, py)[:3] == colour


def test_hover_a_unit_shows_its_map_large_and_features_switch(open_page):
    page = open_page()
    before = page.evaluate(
        "Array.from(document.getElementById('heat').getContext('2d').getImageData(0,0,360,360).data)"
    )
    node = page.evaluate("window.__pg.layout.nodes[1][2]")
    box = page.locator("#net-canvas").bounding_box()
    page.mouse.move(box["x"] + node["x"], box["y"] + node["y"])
    page.wait_for_function("document.getElementById('heat-caption').textContent.includes('unit 3 in hidden layer 1')")
    page.wait_for_timeout(200)
    after = page.evaluate("Array.from(document.getElementById('heat').getContext('2d').getImageData(0,0,360,360).data)")
    assert after != before
    page.mouse.move(box["x"] + 2, box["y"] + 2)
    # features versus depth: x1^2 and x2^2 alone, no hidden layer, separate the circles
    page = open_page("#layers=&features=x1^2,x2^2&lr=0.3")
    assert page.evaluate("window.__pg.last.sizes") == [2, 2]
    page.get_by_label("feature x1*x2").check()
    page.wait_for_function("window.__pg.last.sizes[0] === 3", timeout=10000)
    page.get_by_label("feature x1*x2").uncheck()
    page.wait_for_function("window.__pg.last.sizes[0] === 2", timeout=10000)
    page.get_by_role("button", name="Play").click()
    page.wait_for_function("window.__pg.last.test_acc > 0.95", timeout=30000)


def test_backward_view_gradient_norms_and_dead_units(open_page):
    page = open_page("#activation=relu&layers=8,8,8&lr=3")
    page.get_by_label("Network view").select_option("backward")
    page.get_by_role("button", name="Step one epoch").click()
    _epoch(page, 1)
    page.wait_for_timeout(300)
    assert "Backward pass" in page.locator("#net-hint").inner_text()
    f = page.evaluate("({norms: window.__pg.last.grad_norms, dead: window.__pg.last.dead})")
    assert len(f["norms"]) == 4 and all(v is None or v >= 0 for v in f["norms"])
    assert "Dead units" in page.locator("#dead").inner_text()
    assert f"{f['dead'][0]}/8" in page.locator("#dead").inner_text()


def test_regression_problem(open_page):
    page = open_page()
    page.get_by_label("Problem").select_option("regression")
    page.wait_for_function("window.__pg.data.regression === true", timeout=10000)
    assert not page.locator("#train_acc").is_visible()
    first = page.evaluate("window.__pg.last.train_loss")
    page.get_by_role("button", name="Play").click()
    page.wait_for_function(f"window.__pg.last.epoch > 20 && window.__pg.last.train_loss < {first} / 2", timeout=30000)
    page.get_by_role("button", name="Pause").click()


def test_spiral_is_learned_with_the_defaults(open_page):
    page = open_page()
    page.get_by_role("button", name="spiral", exact=True).click()
    page.wait_for_function("window.__pg.data.config.dataset === 'spiral'", timeout=10000)
    assert page.locator("#noise").get_attribute("max") == "0.1" and page.locator("#noise").input_value() == "0.02"
    page.get_by_role("button", name="Play").click()
    page.wait_for_function("window.__pg.last.test_acc >= 0.9", timeout=60000)
    print(f"\nspiral learned with the defaults at epoch {page.evaluate('window.__pg.last.epoch')}")


def test_share_link_says_copied(browser_url, open_page):
    page = open_page(permissions=["clipboard-read", "clipboard-write"])
    page.get_by_role("button", name="Share link").click()
    page.wait_for_function("document.getElementById('link-status').textContent === 'Copied'", timeout=5000)
    assert page.evaluate("navigator.clipboard.readText()") == page.url


def test_untrained_map_is_clean_and_test_points_show(open_page):
    page = open_page("#dataset=blobs&classes=5")
    page.get_by_label("Show training data").uncheck()
    page.get_by_label("Show test data").check()
    page.wait_for_timeout(300)
    # every output pixel away from the points is a mix of white and ONE class colour (no muddy blends)
    px = np.array(
        page.evaluate("Array.from(document.getElementById('heat').getContext('2d').getImageData(0,0,360,360).data)")
    )
    rgb = px.reshape(-1, 4)[::97, :3].astype(float)
    colours = np.array([[0, 114, 178], [230, 159, 0], [0, 158, 115], [204, 121, 167], [240, 228, 66]], float)
    on_a_line = 0
    for p in rgb:
        d = 255 - p
        best = min(np.linalg.norm(d - (d @ (255 - c)) / ((255 - c) @ (255 - c)) * (255 - c)) for c in colours)
        on_a_line += best < 6
    assert on_a_line / len(rgb) > 0.9
    # each test point has a dark edge around its ring, whatever region it sits in
    pts = page.evaluate(
        "window.__pg.data.test.map(([x, y]) => { const [x0,x1,y0,y1] = window.__pg.data.window;"
        " return [(x - x0) / (x1 - x0) * 360, (y1 - y) / (y1 - y0) * 360]; })"
    )
    dark = 0
    for x, y in pts[:20]:
        ring = [_pixel(page, round(x + dx), round(y)) for dx in (-5, 5)]
        dark += any(sum(c[:3]) < 300 for c in ring)
    assert dark >= 16


def test_frame_rate_of_the_largest_network_and_a_neighbour_tab(open_page, capsys):
    big = open_page("#layers=64,64,64,64,64,64&activation=relu&lr=0.01")
    small = open_page()
    for page in (big, small):
        page.get_by_role("button", name="Play").click()
    big.wait_for_timeout(2000)
    start = [
        p.evaluate("[window.__pg.drawn, window.__pg.raf, window.__pg.frames, performance.now()]") for p in (big, small)
    ]
    big.wait_for_timeout(6000)
    end = [
        p.evaluate("[window.__pg.drawn, window.__pg.raf, window.__pg.frames, performance.now()]") for p in (big, small)
    ]
    rates = [[(e[k] - s[k]) / ((e[3] - s[3]) / 1000) for k in range(3)] for s, e in zip(start, end)]
    with capsys.disabled():
        for name, (drawn, raf, recv) in zip(("6x64 tab", "default tab beside it"), rates):
            print(f"\n{name}: {drawn:.1f} frames drawn/s, {raf:.1f} animation frames/s, {recv:.1f} frames received/s")
    assert all(r[0] > 0 for r in rates) and big.errors == [] and small.errors == []
