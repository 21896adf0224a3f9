"""The playground under a heavy neighbour and oversized or flooding clients: an epoch trained in slices is the
same epoch bit for bit (the core's ``train`` is the oracle) and lets another session's job run inside it;
messages over any size limit get a JSON error before the socket closes; connections per address are capped."""

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import threading

import numpy as np
import pytest
from aiohttp import ClientSession, WSMsgType

from perceptrons import MLP, SGD, Adam, train
from perceptrons.playground import server as pg_server
from perceptrons.playground import session as pg_session
from perceptrons.playground.server import BackgroundServer
from perceptrons.playground.session import Session

BIG = {"layers": [64] * 6, "n": 2000, "batch": 1, "init_seed": 7}


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
@pytest.mark.parametrize("seconds", [0.0, 1e-4, float("inf")])
def test_an_epoch_in_slices_is_the_cores_epoch_bit_for_bit(optimizer, seconds):
    cfg = {"optimizer": optimizer, "layers": [5, 3], "n": 200, "batch": 7, "reg": "l2", "reg_rate": 0.01}
    s = Session(cfg)
    net = MLP(s.net.sizes, activation=s.net.activation, output=s.net.output, seed=cfg.get("init_seed", 1))
    np.testing.assert_array_equal(net.flat_params, s.net.flat_params)
    opt = Adam(s.opt.lr) if optimizer == "adam" else SGD(s.opt.lr, 0.9 if optimizer == "momentum" else 0.0)
    order = np.random.default_rng(s.config["order_seed"])
    slices = 0
    for epoch in range(3):
        while not s.train_slice(seconds):
            slices += 1
        train(net, s.Xtr, s.ttr, opt=opt, batch_size=7, sampling="epochs", epochs=1, seed=order, alpha=0.01)
        np.testing.assert_array_equal(s.net.flat_params, net.flat_params, err_msg=f"epoch {epoch}")
        assert s.epochs == epoch + 1
    if seconds == 0.0:
        assert slices == 3 * (int(np.ceil(len(s.ttr) / 7)) - 1)  # one batch a slice


def test_a_change_is_never_recorded_inside_an_epoch():
    s = Session({"layers": [4], "batch": 1})
    assert not s.train_slice(0.0)
    with pytest.raises(pg_session.ConfigError, match="epoch is being trained"):
        s.set_lr(0.5)
    while not s.train_slice(0.0):
        pass
    s.set_lr(0.5)
    assert s.config["schedule"] == [{"epoch": 1, "lr": 0.5}]


async def _reply(ws, kind, timeout=30):
    while True:
        msg = await ws.receive(timeout=timeout)
        assert msg.type == WSMsgType.TEXT, msg
        m = json.loads(msg.data)
        if m["type"] in (kind, "error"):
            return m


async def _big_and_small(http, url):
    """Two tabs: A configured with the largest network (init seed 7), B with the defaults (seed 8)."""
    a, b = await http.ws_connect(url + "ws"), await http.ws_connect(url + "ws")
    await _reply(a, "hello")
    await _reply(b, "hello")
    await a.send_str(json.dumps({"type": "config", "config": BIG}))
    await _reply(a, "frame")
    await b.send_str(json.dumps({"type": "config", "config": {"init_seed": 8}}))
    await _reply(b, "frame")
    return a, b


def test_another_sessions_job_runs_inside_a_big_epoch(monkeypatch):
    """One worker thread for everybody: a small session's step is served between two slices of a big
    network's epoch, not after the whole epoch (the order of the jobs is the fact checked, no clock)."""
    monkeypatch.setattr(pg_server, "WORKERS", 1)
    log = []  # (session, what, epochs done) in the order the worker ran them
    b_queued = threading.Event()
    real_slice, real_parts, real_job = Session.train_slice, Session.frame_parts, pg_server.Connection._job

    def slice_(self, *a):
        who = "A" if self.config["init_seed"] == 7 else "B"
        if who == "A" and self._epoch_pos == 1:  # A is inside its epoch: hold until B's step is queued
            assert b_queued.wait(30)
        done = real_slice(self, *a)
        log.append((who, "slice", self.epochs))
        return done

    def frame_parts(self, *a, **kw):
        log.append(("A" if self.config["init_seed"] == 7 else "B", "frame", self.epochs))
        return real_parts(self, *a, **kw)

    async def job(self, fn, *args):
        owner = getattr(fn, "__self__", None)
        if isinstance(owner, Session) and owner.config["init_seed"] == 8 and getattr(fn, "__func__", None) is slice_:
            b_queued.set()
        return await real_job(self, fn, *args)

    monkeypatch.setattr(Session, "train_slice", slice_)
    monkeypatch.setattr(Session, "frame_parts", frame_parts)
    monkeypatch.setattr(pg_server.Connection, "_job", job)

    async def run(url):
        async with ClientSession() as http:
            a, b = await _big_and_small(http, url)
            await a.send_str('{"type": "step"}')
            while not any(e[0] == "A" and e[1] == "slice" for e in log):
                await asyncio.sleep(0.001)
            await b.send_str('{"type": "step"}')
            assert (await _reply(b, "frame"))["epoch"] == 1
            assert (await _reply(a, "frame"))["epoch"] == 1
            await a.close()
            await b.close()

    with BackgroundServer() as s:
        asyncio.run(run(s.url))
    a_slices = [k for k, e in enumerate(log) if e[:2] == ("A", "slice")]
    b_jobs = [k for k, e in enumerate(log) if e[0] == "B" and e[2] == 1]  # B's step: its slice and frame
    assert len(a_slices) >= 3
    assert a_slices[0] < b_jobs[0] and b_jobs[-1] < a_slices[-1], log[:10]
    assert log[a_slices[-1]][2] == 1 and all(log[k][2] == 0 for k in a_slices[:-1])  # all one epoch of A


def test_another_sessions_job_runs_inside_a_big_frame(monkeypatch):
    """One worker thread for everybody: a small session's step is served between two parts of a big
    network's frame (``Session.frame_parts``), not after the whole frame (the order of the jobs is the
    fact checked, no clock)."""
    monkeypatch.setattr(pg_server, "WORKERS", 1)
    log = []  # (session, what) in the order the worker ran it: A's frame parts, every job of B
    armed, a_framing, b_queued = threading.Event(), threading.Event(), threading.Event()
    real_parts, real_job = Session.frame_parts, pg_server.Connection._job

    def who(session):
        return "A" if session.config["init_seed"] == 7 else "B"

    def frame_parts(self, *a, **kw):
        for k, out in enumerate(real_parts(self, *a, **kw)):
            log.append((who(self), f"part {k}" if out is None else "frame"))
            if who(self) == "A" and k == 0 and armed.is_set():  # inside A's frame: hold until B's step is queued
                a_framing.set()
                assert b_queued.wait(30)
            yield out

    async def job(self, fn, *args):
        if self.session is None or who(self.session) == "A":
            return await real_job(self, fn, *args)
        if a_framing.is_set():
            b_queued.set()

        def logged(*a):  # every job of B, as the worker runs it
            log.append(("B", getattr(fn, "__name__", "job")))
            return fn(*a)

        return await real_job(self, logged, *args)

    monkeypatch.setattr(Session, "frame_parts", frame_parts)
    monkeypatch.setattr(pg_server.Connection, "_job", job)

    async def run(url):
        async with ClientSession() as http:
            a, b = await _big_and_small(http, url)
            armed.set()
            log.clear()
            await a.send_str('{"type": "step"}')
            while not a_framing.is_set():
                await asyncio.sleep(0.001)
            await b.send_str('{"type": "step"}')
            assert (await _reply(b, "frame"))["epoch"] == 1
            frame_a = await _reply(a, "frame")
            assert frame_a["epoch"] == 1 and "gradcheck" in frame_a
            await a.close()
            await b.close()

    with BackgroundServer() as s:
        asyncio.run(run(s.url))
    a_parts = [k for k, e in enumerate(log) if e[0] == "A"]
    b_parts = [k for k, e in enumerate(log) if e[0] == "B"]
    assert log[a_parts[0]] == ("A", "part 0") and log[a_parts[-1]] == ("A", "frame"), log
    assert len(a_parts) == 4  # gradient, deltas, pictures, gradient check, as four jobs
    assert any(a_parts[0] < k < a_parts[-1] for k in b_parts), log  # B's step ran jobs inside A's frame


# -- messages over aiohttp's hard limit -------------------------------------------------------------------
def test_a_message_over_the_hard_limit_gets_an_error_before_the_close():
    async def run(url):
        async with ClientSession() as http:
            ws = await http.ws_connect(url + "ws", max_msg_size=0)
            await _reply(ws, "hello")
            big = '{"type": "python", "pad": "' + "x" * (pg_server.HARD_MAX_MESSAGE + 10) + '"}'
            sending = asyncio.create_task(ws.send_str(big))  # as a page sends: without waiting to read
            m = await _reply(ws, "error")
            assert m["type"] == "error" and f"over {pg_server.HARD_MAX_MESSAGE} bytes" in m["message"], m
            msg = await ws.receive(timeout=30)
            assert msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSED) and ws.close_code == 1009
            await asyncio.gather(sending, return_exceptions=True)

    with BackgroundServer() as s:
        asyncio.run(run(s.url))


# -- floods of raw TCP connections --------------------------------------------------------------------------
def _port(url):
    return int(url.rsplit(":", 1)[1].rstrip("/"))


def _get(port, sock=None):
    """A plain HTTP GET / on a socket: the status line and the body's first line."""
    sock = sock or socket.create_connection(("127.0.0.1", port), timeout=10)
    with sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n\r\n" % port)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return head.split(b"\r\n")[0].decode(), body.decode(errors="replace").splitlines()[0]


@pytest.mark.parametrize("limit", ["MAX_CONNECTIONS_PER_CLIENT", "MAX_CONNECTIONS"])
def test_open_connections_are_capped_with_a_clear_refusal(monkeypatch, limit):
    monkeypatch.setattr(pg_server, limit, 5)
    with BackgroundServer() as s:
        port = _port(s.url)
        idle = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(5)]  # a flood: no request
        status, line = _get(port)  # the sixth, while five are open
        assert status.startswith("HTTP/1.1 503") and "open connections" in line and "limit" in line, (status, line)
        idle.pop().close()
        deadline = 50
        while deadline:  # the server counts the closed one out once it has seen the close
            status, line = _get(port)
            if status.startswith("HTTP/1.1 200"):
                break
            deadline -= 1
            threading.Event().wait(0.05)
        assert status.startswith("HTTP/1.1 200"), (status, line)
        for sock in idle:
            sock.close()


# -- the command's server: signals close every socket ---------------------------------------------------------
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_the_playground_command_closes_its_sockets_on_a_signal(sig):
    with socket.socket() as probe:  # a free port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "src"))}
    proc = subprocess.Popen(
        [sys.executable, "-m", "perceptrons", "playground", "--port", str(port), "--no-browser"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert "playground at" in proc.stdout.readline()

        async def run():
            async with ClientSession() as http:
                for _ in range(100):  # listening a moment after the line is printed
                    try:
                        ws = await http.ws_connect(f"http://127.0.0.1:{port}/ws")
                        break
                    except OSError:
                        await asyncio.sleep(0.05)
                await _reply(ws, "hello")
                await ws.send_str('{"type": "config", "config": {}}')
                await ws.send_str('{"type": "play"}')
                await _reply(ws, "frame")
                proc.send_signal(sig)
                while (msg := await ws.receive(timeout=20)).type == WSMsgType.TEXT:
                    pass
                assert msg.type == WSMsgType.CLOSE and msg.data == 1001

        asyncio.run(run())
        assert proc.wait(timeout=20) == 0
        assert "Traceback" not in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
