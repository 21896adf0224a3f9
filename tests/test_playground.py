"""The playground: sessions (reproducibility, limits, the Python code), the WebSocket protocol
(malformed input, many sessions at once) and the page itself in a real headless Chromium."""

import asyncio
import base64
import json
import os
import shutil
import time

import numpy as np
import pytest
from aiohttp import ClientSession, WSMsgType

import perceptrons
from perceptrons.playground.server import BackgroundServer
from perceptrons.playground.session import ConfigError, Session, python_code, validate_config

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
LOAD_SECONDS = float(os.environ.get("PLAYGROUND_LOAD_SECONDS", "60"))


# -- sessions ---------------------------------------------------------------------------------
def test_same_configuration_same_initial_weights_and_picture():
    a, b = (
        Session({"dataset": "spiral", "classes": 3, "layers": [6, 5]}),
        Session({"dataset": "spiral", "classes": 3, "layers": [6, 5]}),
    )
    for k in a.net.params:
        np.testing.assert_array_equal(a.net.params[k], b.net.params[k])
    assert a.frame()["heat"] == b.frame()["heat"]
    c = Session({"dataset": "spiral", "classes": 3, "layers": [6, 5], "init_seed": 2})
    assert not np.array_equal(a.net.params["W0"], c.net.params["W0"])


def test_python_code_reproduces_the_run():
    cfg = {
        "dataset": "moons",
        "layers": [5, 3],
        "optimizer": "adam",
        "lr": 0.01,
        "batch": 16,
        "reg": "l2",
        "reg_rate": 0.001,
    }
    s = Session(cfg)
    for _ in range(7):
        s.epoch()
    ns: dict = {}
    exec(python_code(s.config, s.epochs), ns)  # noqa: S102 - our own generated code
    for k in s.net.params:
        np.testing.assert_array_equal(ns["net"].params[k], s.net.params[k])


def test_training_lowers_the_loss_and_gradcheck_passes():
    s = Session({"dataset": "xor", "layers": [8, 8], "lr": 0.1})
    first = s.frame()
    for _ in range(40):
        s.epoch()
    last = s.frame()
    assert last["train_loss"] < 0.7 * first["train_loss"]
    assert last["gradcheck"]["passed"]
    assert len(base64.b64decode(last["heat"])) == 64 * 64 * 2


@pytest.mark.parametrize(
    "cfg, words",
    [
        ({"layers": [8] * 7}, "at most 6"),
        ({"layers": [65]}, "1 to 64 units"),
        ({"n": 100000}, "n must be"),
        ({"lr": float("nan")}, "lr must be"),
        ({"dataset": "mnist"}, "dataset must be one of"),
        ({"batch": 0}, "batch must be"),
        ({"bogus": 1}, "unknown config keys"),
        ({"dataset": "custom", "points": [[0, 0, 0]]}, "2 to 2000 points"),
        ({"dataset": "csv", "csv": "a,b,c,y\n1,2,3,0\n2,3,4,1\n"}, "draws 2 features"),
    ],
)
def test_limits_and_bad_configurations(cfg, words):
    with pytest.raises(ConfigError, match=words):
        Session(cfg)


def test_csv_and_clicked_points():
    text = "x,y,label\n" + "\n".join(f"{i % 7},{i % 5},{'a' if i % 2 else 'b'}" for i in range(40))
    s = Session({"dataset": "csv", "csv": text})
    assert s.n_outputs == 2 and len(s.ytr) + len(s.yte) == 40
    pts = [[0, 0, 0], [1, 1, 0], [0, 1, 2], [1, 0, 2], [0.5, 0.5, 0], [0.2, 0.8, 2]]
    s = Session({"dataset": "custom", "points": pts})
    assert s.n_outputs == 3 and sorted(set(s.ytr)) == [0, 2]  # drawn classes keep their numbers (and colours)


def test_divergence_is_reported_not_a_grey_picture():
    s = Session({"dataset": "circles", "activation": "relu", "lr": 10, "layers": [32, 32], "noise": 0.0})
    s.Xtr *= 1e150
    for _ in range(5):
        s.epoch()
    f = s.frame()
    assert f["diverged"] and "lower the learning rate" in f["diverged"]
    assert all(np.isfinite(v).all() for v in s.net.params.values())


SCHEDULED = {
    "dataset": "spiral",
    "layers": [6, 5],
    "optimizer": "adam",
    "lr": 0.03,
    "schedule": [{"epoch": 3, "lr": 0.01}, {"epoch": 5, "weight": [1, 2, 3], "value": 0.5}, {"epoch": 9, "lr": 0.1}],
}


def test_a_run_opened_at_an_epoch_is_the_run_that_was_stepped_there():
    sender = Session(SCHEDULED)
    sender.frame()
    for _ in range(8):
        sender.epoch()
        sender.frame()
    opened = Session({**SCHEDULED, "epoch": 8})
    assert opened.epochs == 0  # the replay is the server's job, in slices
    opened.replay(8, budget_s=60.0)
    sliced = Session({**SCHEDULED, "epoch": 8})
    while sliced.epochs < 8:
        sliced.replay(8, budget_s=0.0)  # a zero budget still makes progress: one epoch per slice
    for s in (opened, sliced):
        assert s.epochs == 8 and s.opt.lr == 0.01
        np.testing.assert_array_equal(s.net.flat_params, sender.net.flat_params)
        assert s.net.params["W1"][2, 3] != 0.5  # edited at epoch 5, then trained on
        frame, ref = s.frame(), sender.frame()
        assert (frame["train_loss"], frame["weights"]) == (ref["train_loss"], ref["weights"])
        assert s.history() == sender.history() and s.history()["epoch"] == list(range(9))
    for s in (sender, opened):  # and they go on alike: optimizer state, sample order, the change at epoch 9
        s.epoch()
    np.testing.assert_array_equal(opened.net.flat_params, sender.net.flat_params)
    assert opened.opt.lr == 0.1


@pytest.mark.parametrize("epoch", [-1, 2.5, 10**7, "3", True])
def test_an_epoch_out_of_range_is_refused(epoch):
    with pytest.raises(ConfigError, match="epoch must be"):
        Session({"epoch": epoch})


def test_weights_beyond_float32_still_draw():
    """The pictures are computed in float32: weights past its range are clipped and drawn, never raised."""
    s = Session({"layers": [8, 8]})
    s.net.params["W1"][:] = 1e39  # finite in float64, past float32's 3.4e38
    f = s.frame()
    heat = np.frombuffer(base64.b64decode(f["heat"]), dtype=np.uint8).reshape(-1, 2)
    assert heat.shape == (64 * 64, 2) and heat.max() <= 255
    sent = np.frombuffer(base64.b64decode(f["weights"][1]), dtype=np.float32)
    assert np.isfinite(sent).all() and sent.max() == np.finfo(np.float32).max


def test_default_configuration_is_valid():
    assert validate_config({})["layers"] == [8, 8]


# -- the WebSocket server ---------------------------------------------------------------------
async def _ws_session(url, config, seconds, counts, errors):
    async with ClientSession() as http, http.ws_connect(url + "ws") as ws:
        await ws.send_str(json.dumps({"type": "config", "config": config}))
        await ws.send_str(json.dumps({"type": "play"}))
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            try:
                msg = await ws.receive(timeout=max(0.01, end - time.perf_counter()))
            except asyncio.TimeoutError:
                break
            if msg.type != WSMsgType.TEXT:
                errors.append(str(msg.type))
                break
            m = json.loads(msg.data)
            if m["type"] == "frame":
                counts.append(time.perf_counter())
            elif m["type"] == "error":
                errors.append(m["message"])


def test_malformed_messages_get_errors_and_the_server_keeps_serving():
    async def run(url):
        async with ClientSession() as http, http.ws_connect(url + "ws", max_msg_size=0) as ws:
            assert json.loads((await ws.receive()).data)["type"] == "hello"
            bad = [
                "{",
                "[]",
                '{"type": 3}',
                '{"type": "fly"}',
                '{"type": "play"}',
                "x" * 2_000_000,
                '{"type": "config", "config": {"layers": [1000]}}',
                '{"type": "config", "config": 5}',
            ]
            replies = []
            for i in range(100):
                await ws.send_str(bad[i % len(bad)])
                replies.append(json.loads((await ws.receive(timeout=10)).data))
            await ws.send_bytes(b"\x00\x01")
            replies.append(json.loads((await ws.receive(timeout=10)).data))
            assert all(r["type"] == "error" and r["message"] for r in replies)
            assert any("larger than the limit" in r["message"] for r in replies)
        counts, errors = [], []
        await _ws_session(url, {"dataset": "moons"}, 2.0, counts, errors)  # a fresh session still works
        assert not errors and len(counts) > 5

    with BackgroundServer() as server:
        asyncio.run(run(server.url))


def test_a_config_at_an_epoch_is_replayed_in_slices_then_sent_at_that_epoch():
    cfg = {"layers": [64] * 6, "activation": "relu", "lr": 0.01, "epoch": 40}

    async def run(url):
        async with ClientSession() as http, http.ws_connect(url + "ws") as ws:
            assert json.loads((await ws.receive()).data)["type"] == "hello"
            await ws.send_str(json.dumps({"type": "config", "config": cfg}))
            await ws.send_str(json.dumps({"type": "step"}))  # too early: refused, the replay goes on
            await ws.send_str(json.dumps({"type": "play"}))  # kept: it plays once the replay is there
            got = []
            while not got or got[-1]["type"] != "frame":
                got.append(json.loads((await ws.receive(timeout=60)).data))
            nxt = json.loads((await ws.receive(timeout=30)).data)
            return got, nxt

    with BackgroundServer() as server:
        got, nxt = asyncio.run(run(server.url))
    kinds = [m["type"] for m in got]
    assert kinds[0] == "data" and kinds.count("frame") == 1 and "replay" in kinds
    assert any(m["type"] == "error" and "still being replayed" in m["message"] for m in got)
    progress = [m["epoch"] for m in got if m["type"] == "replay"]
    assert progress == sorted(progress) and progress[-1] == 40
    frame = got[-1]
    assert frame["epoch"] == 40 and frame["history"]["epoch"] == list(range(41))
    ref = Session({k: v for k, v in cfg.items() if k != "epoch"})
    for _ in range(40):
        ref.epoch()
    for i, b64 in enumerate(frame["weights"]):
        sent = np.frombuffer(base64.b64decode(b64), dtype=np.float32)
        W = ref.net.params[f"W{i}"].astype(np.float32).ravel()
        if frame["wire_index"][i] is None:  # a small layer: every weight
            np.testing.assert_array_equal(sent, W)
        else:  # a 64 x 64 layer: at least its 400 strongest weights, exactly
            idx = np.frombuffer(base64.b64decode(frame["wire_index"][i]), dtype=np.int32)
            np.testing.assert_array_equal(sent, W[idx])
            assert set(np.argsort(-np.abs(W))[:400].tolist()) <= set(idx.tolist())
    assert nxt["type"] == "frame" and nxt["epoch"] == 41  # play, pressed during the replay


def test_another_tab_keeps_its_frames_while_a_long_replay_runs():
    async def replaying(url, events):
        async with ClientSession() as http, http.ws_connect(url + "ws") as ws:
            await ws.receive()  # hello
            cfg = {"layers": [64] * 6, "activation": "relu", "lr": 0.01, "epoch": 400}
            await ws.send_str(json.dumps({"type": "config", "config": cfg}))
            while True:
                m = json.loads((await ws.receive(timeout=120)).data)
                events.append((m["type"], time.perf_counter()))
                if m["type"] == "frame":
                    return

    async def run(url):
        events, counts, errors = [], [], []
        other = asyncio.create_task(_ws_session(url, {"dataset": "moons"}, 600, counts, errors))
        await asyncio.sleep(0.5)  # the other tab is playing
        await replaying(url, events)
        other.cancel()
        return events, counts, errors

    with BackgroundServer() as server:
        events, counts, errors = asyncio.run(run(server.url))
    progress = [t for kind, t in events if kind == "replay"]
    assert len(progress) >= 3 and errors == []  # the replay ran in several slices...
    between = [t for t in counts if progress[0] < t < progress[-1]]
    assert len(between) >= 2  # ...and the playing tab's frames came in between them, not after


def test_load_twenty_sessions_at_once(capsys):
    async def run(url):
        counts = [[] for _ in range(20)]
        errors: list = []
        cfgs = [
            {"dataset": d, "layers": [8, 8], "n": 500, "data_seed": i}
            for i, d in enumerate(["circles", "moons", "xor", "spiral", "gaussian"] * 4)
        ]
        await asyncio.gather(*(_ws_session(url, c, LOAD_SECONDS, counts[i], errors) for i, c in enumerate(cfgs)))
        return counts, errors

    with BackgroundServer() as server:
        counts, errors = asyncio.run(run(server.url))
    fps = [len(c) / LOAD_SECONDS for c in counts]
    with capsys.disabled():
        print(
            f"\nload test: 20 sessions x {LOAD_SECONDS:.0f} s, frames/s per session: min {min(fps):.1f}, "
            f"mean {np.mean(fps):.1f}, total {sum(fps):.0f}"
        )
    assert errors == []
    assert min(fps) > 1.0


def test_single_session_frame_rate(capsys):
    counts, errors = [], []
    with BackgroundServer() as server:
        asyncio.run(_ws_session(server.url, {"dataset": "circles", "layers": [8, 8], "n": 500}, 5.0, counts, errors))
    with capsys.disabled():
        print(f"\none 2-8-8-2 session on 500 points: {len(counts) / 5.0:.1f} frames/s")
    assert errors == [] and len(counts) > 10


# -- the page in a real browser ---------------------------------------------------------------
@pytest.fixture(scope="module")
def browser_page():
    from playwright.sync_api import sync_playwright

    assert CHROMIUM, "Chromium is missing: run the README's test command (scripts/test.sh installs it)"
    with BackgroundServer() as server, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield browser, server.url
        browser.close()


def _pixels(page):
    return page.evaluate(
        "Array.from(document.getElementById('heat').getContext('2d').getImageData(0,0,360,360).data.filter((_, i) => i % 16 === 0))"
    )


def _wait_frames(page, n):
    page.wait_for_function(f"window.__pg.frames >= {n}", timeout=30000)


def test_page_trains_live(browser_page, tmp_path):
    browser, url = browser_page
    page = browser.new_page()
    failed = []
    page.on("requestfailed", lambda r: failed.append(r.url))
    page.goto(url)
    _wait_frames(page, 1)
    start_pixels = _pixels(page)
    start_loss = page.evaluate("window.__pg.last.train_loss")
    page.click("#play")
    _wait_frames(page, 40)
    assert page.evaluate("window.__pg.last.train_loss") < start_loss
    assert _pixels(page) != start_pixels
    # change the learning rate while it trains: the frames report the new one, training goes on
    page.select_option("#lr", "0.1")
    page.wait_for_function("window.__pg.last.lr === 0.1", timeout=10000)
    epoch = page.evaluate("window.__pg.last.epoch")
    page.wait_for_function(f"window.__pg.last.epoch > {epoch + 5}", timeout=10000)
    # reset: the same initial picture as at the start
    page.click("#play")
    page.click("#reset")
    page.wait_for_function("window.__pg.last.epoch === 0", timeout=10000)
    page.wait_for_timeout(200)
    assert _pixels(page) == start_pixels
    # download the model and load it with the library
    with page.expect_download() as dl:
        page.click("#download")
    path = tmp_path / "model.npz"
    dl.value.save_as(path)
    net = perceptrons.load(path)
    assert net.sizes == [2, 8, 8, 2]
    # the page shows the Python code
    page.click("#python")
    page.wait_for_selector("#code-dialog[open]")
    assert "perceptrons" in page.inner_text("#code")
    assert failed == [] and page.evaluate("window.__pg.errors") == []
    page.close()


def test_switch_data_set_and_shared_url(browser_page):
    browser, url = browser_page
    page = browser.new_page()
    page.goto(url)
    _wait_frames(page, 1)
    page.click("#datasets button[data-name='moons']")
    page.wait_for_function("window.__pg.data && window.__pg.data.config.dataset === 'moons'", timeout=10000)
    page.fill("#init_seed", "7")
    page.dispatch_event("#init_seed", "change")
    page.wait_for_function("window.__pg.data.config.init_seed === 7", timeout=10000)
    page.wait_for_timeout(200)
    shared, pixels, cfg = page.url, _pixels(page), page.evaluate("window.__pg.data.config")
    other = browser.new_page()
    other.goto(shared)
    other.wait_for_function("window.__pg.frames >= 1 && window.__pg.data.config.dataset === 'moons'", timeout=10000)
    other.wait_for_timeout(200)
    assert other.evaluate("window.__pg.data.config") == cfg
    assert _pixels(other) == pixels
    page.close()
    other.close()
