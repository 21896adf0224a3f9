"""The playground's web server (aiohttp): static page + one WebSocket per browser tab.

Protocol (JSON text messages). The page sends ``{"type": ...}`` with type
``config`` (``config``: a new run; replies ``data`` then a ``frame``), ``play``, ``pause``,
``step`` (one epoch, one frame), ``reset`` (same configuration: same seeds, same initial weights),
``lr`` (``value``: change the learning rate while training), ``edit`` (``layer``, ``i``, ``j``,
``value``: set one weight; replies a ``frame``; both changes are recorded in the run's schedule), ``save`` (replies ``model`` with the
``.npz`` file as base64), ``python`` (replies ``python`` with the code that reproduces the run).
The server sends ``hello``, ``data``, ``frame`` (~30 per second while playing), ``error``
(``message``: what was wrong and how to fix it; the session keeps going), ``model``, ``python``.
Malformed, unknown or oversized messages are answered with ``error``; limits on points, layers and
units (``session.LIMITS``) keep any one request from exhausting the machine.
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
import webbrowser
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web

from .session import LIMITS, ConfigError, Session, python_code

STATIC = Path(__file__).parent / "static"
MAX_MESSAGE = 1_500_000  # bytes; larger text messages get an error reply
HARD_MAX_MESSAGE = 8_000_000  # beyond this aiohttp closes the socket (code 1009)
FPS = 30
MAX_SESSIONS = 64
OPEN = web.AppKey("open_connections", dict)  # {"count": int}


class Connection:
    """One browser tab: its session and the play loop that streams frames."""

    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws
        self.session: Session | None = None
        self.playing = False
        self.wake = asyncio.Event()
        self.frames = 0

    async def send(self, msg: dict[str, Any]) -> None:
        if not self.ws.closed:
            await self.ws.send_str(json.dumps(msg, allow_nan=False))

    async def error(self, message: str) -> None:
        await self.send({"type": "error", "message": message})

    async def play_loop(self) -> None:
        period = 1.0 / FPS
        while not self.ws.closed:
            if not (self.playing and self.session is not None):
                self.wake.clear()
                await self.wake.wait()
                continue
            t0 = time.perf_counter()
            self.session.epoch()
            await self.send(self.session.frame(with_gradcheck=self.frames % 5 == 0))
            self.frames += 1
            if self.session.diverged:
                self.playing = False
            await asyncio.sleep(max(0.0, period - (time.perf_counter() - t0)))

    async def handle(self, text: str) -> None:
        if len(text) > MAX_MESSAGE:
            await self.error(f"message of {len(text)} bytes is larger than the limit of {MAX_MESSAGE}; send less data.")
            return
        try:
            msg = json.loads(text)
        except (json.JSONDecodeError, RecursionError):
            await self.error('malformed message: expected a JSON object like {"type": "play"}.')
            return
        if not isinstance(msg, dict) or not isinstance(msg.get("type"), str):
            await self.error("malformed message: expected a JSON object with a string 'type'.")
            return
        kind = msg["type"]
        if kind == "config":
            try:
                self.session = Session(msg.get("config", {}))
            except (ConfigError, ValueError, TypeError) as exc:
                await self.error(f"configuration refused: {exc}")
                return
            self.playing = False
            self.frames = 0
            await self.send(self.session.data_message())
            await self.send(self.session.frame())
            return
        if self.session is None:
            await self.error(f"send a 'config' message before {kind!r}.")
            return
        if kind == "play":
            self.playing = True
            self.wake.set()
        elif kind == "pause":
            self.playing = False
        elif kind == "step":
            self.playing = False
            self.session.epoch()
            await self.send(self.session.frame())
        elif kind == "reset":
            self.playing = False
            self.session = Session(self.session.config)
            self.frames = 0
            await self.send(self.session.data_message())
            await self.send(self.session.frame())
        elif kind == "lr":
            try:
                self.session.set_lr(msg.get("value"))
            except (ConfigError, ValueError, TypeError) as exc:
                await self.error(str(exc))
                return
            if not self.playing:  # the page learns the recorded schedule from the next frame
                await self.send(self.session.frame(with_gradcheck=False))
        elif kind == "edit":
            try:
                self.session.set_weight(msg.get("layer"), msg.get("i"), msg.get("j"), msg.get("value"))
            except (ConfigError, ValueError, TypeError) as exc:
                await self.error(str(exc))
                return
            await self.send(self.session.frame(with_gradcheck=False))
        elif kind == "save":
            data = base64.b64encode(self.session.model_bytes()).decode()
            await self.send({"type": "model", "filename": "playground-model.npz", "data": data})
        elif kind == "python":
            await self.send({"type": "python", "code": python_code(self.session.config, self.session.epochs)})
        else:
            await self.error(
                f"unknown message type {kind!r}; expected config, play, pause, step, reset, lr, edit, save or python."
            )


async def websocket(request: web.Request) -> web.WebSocketResponse:
    app = request.app
    ws = web.WebSocketResponse(max_msg_size=HARD_MAX_MESSAGE, heartbeat=30)
    if app[OPEN]["count"] >= MAX_SESSIONS:
        await ws.prepare(request)
        await ws.send_str(json.dumps({"type": "error", "message": "the server is full; try again later."}))
        await ws.close()
        return ws
    await ws.prepare(request)
    app[OPEN]["count"] += 1
    conn = Connection(ws)
    loop_task = asyncio.create_task(conn.play_loop())
    try:
        await conn.send({"type": "hello", "limits": _limits()})
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                try:
                    await conn.handle(msg.data)
                except Exception as exc:  # a bug must not take the server down for everyone
                    await conn.error(f"internal error while handling the message: {type(exc).__name__}: {exc}")
            elif msg.type == WSMsgType.BINARY:
                await conn.error("binary messages are not accepted; send JSON text.")
            elif msg.type == WSMsgType.ERROR:
                break
    finally:
        app[OPEN]["count"] -= 1
        conn.wake.set()
        loop_task.cancel()
    return ws


def _limits() -> dict[str, Any]:

    return {**LIMITS, "message_bytes": MAX_MESSAGE}


async def index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html")


def make_app() -> web.Application:
    app = web.Application(client_max_size=2 * 1024 * 1024)
    app[OPEN] = {"count": 0}
    app.router.add_get("/", index)
    app.router.add_get("/ws", websocket)
    app.router.add_static("/static/", STATIC)
    return app


def serve(host: str = "127.0.0.1", port: int = 8000, open_browser: bool = True) -> None:
    """Run the playground until interrupted, printing its address."""
    url = f"http://{host}:{port}/"
    print(f"perceptrons playground at {url}  (Ctrl-C to stop)", flush=True)
    if open_browser:
        threading.Timer(0.5, lambda: webbrowser.open(url)).start()
    web.run_app(make_app(), host=host, port=port, print=None)


class BackgroundServer:
    """The playground on a free loopback port in a background thread (for tests and scripts)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.url = ""

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        runner = web.AppRunner(make_app())
        self.loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        self.loop.run_until_complete(site.start())
        port = runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/"
        self.runner = runner
        self.ready.set()
        self.loop.run_forever()
        self.loop.run_until_complete(runner.cleanup())

    def __enter__(self) -> BackgroundServer:
        self.thread.start()
        self.ready.wait(10)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
