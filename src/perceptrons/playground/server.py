"""The playground's web server (aiohttp): static page + one WebSocket per browser tab.

Protocol (JSON text messages). The page sends ``{"type": ...}`` with type
``config`` (``config``: a new run; replies ``data`` then a ``frame``; a config whose ``epoch`` is N,
from a shared link, first replays the run to epoch N in short jobs, sending ``replay`` progress
(``epoch``, ``target``), then the frame at epoch N with its loss ``history``), ``play``, ``pause``,
``step`` (one epoch, one frame), ``reset`` (same configuration: same seeds, same initial weights),
``lr`` (``value``: change the learning rate while training), ``edit`` (``layer``, ``i``, ``j``,
``value``: set one weight; replies a ``frame``; both changes are recorded in the run's schedule), ``save`` (replies ``model`` with the
``.npz`` file as base64), ``python`` (replies ``python`` with the code that reproduces the run).
The server sends ``hello``, ``data``, ``frame`` (~30 per second while playing), ``error``
(``message``: what was wrong and how to fix it; the session keeps going), ``model``, ``python``.
Malformed, unknown or oversized messages are answered with ``error``; limits on points, layers and
units (``session.LIMITS``) keep any one request from exhausting the machine.

Hostile neighbours, stated once:

- Only pages served by this server may connect: the ``Host`` header must name the address served
  (or a loopback name), and a WebSocket's ``Origin`` must be that same host (no cross-site page,
  no ``null`` origin, no DNS rebinding). Refusals are logged, one line per burst.
- Training and drawing run in worker threads, never on the event loop, one job per session at a
  time: a heavy session shares the CPU with the others instead of freezing them. An epoch is cut
  into slices of about ``session.SLICE_S``, each a job queued behind the other sessions' jobs, so
  the workers take turns between sessions within an epoch; a frame is computed in parts of a few
  milliseconds (``Session.frame_parts``), each a job too. A session's frame waits for at most a slice
  or a part of each busy session, never for their whole epochs or frames.
- Sessions are limited per client address and in total; a session with no message from its page
  for ``IDLE_S`` seconds is closed (the page reconnects by itself when used again). Below that, open
  TCP connections are counted per address and in total before aiohttp sees them (:class:`Gate`): a
  flood of idle sockets gets a 503 with the reason, and idle HTTP connections close after ``KEEPALIVE_S``.
- A message over aiohttp's hard limit (``HARD_MAX_MESSAGE``) closes the socket, but only after an
  ``error`` message that says why.
- No exception ends a session's loop silently: it is reported to the page, which keeps being served.
- On shutdown every socket is closed (code 1001), so pages learn at once that the server is gone.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import functools
import ipaddress
import json
import logging
import math
import threading
import time
import webbrowser
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

from aiohttp import WSCloseCode, WSMsgType, web
from threadpoolctl import ThreadpoolController

from .session import LIMITS, SLICE_S, ConfigError, Session, python_code

STATIC = Path(__file__).parent / "static"
MAX_MESSAGE = 1_500_000  # bytes (UTF-8) of one text message; larger ones get an error reply
MAX_DIGITS = 30  # of an integer in a message: more is no setting's value, and costs time to convert
HARD_MAX_MESSAGE = 8_000_000  # beyond this aiohttp closes the socket (code 1009), after our error message
OVERSIZE_GRACE_S = 1.0  # ... and after the rest of the oversized message has arrived (at most this long)
FPS = 30
MAX_SESSIONS = 64
REPLAY_SLICE_S = 0.05  # one job of a replay: other sessions' jobs take the workers in between
# Jobs (epochs, frames) run in this many worker threads: two, so that one session's long epoch never
# holds up the others, and no more, because the jobs are short NumPy calls that hold the interpreter
# lock most of the time: with one thread per session, 20 sessions streamed 7 frames/s each here, with
# two 16, with one 24 (but then one long epoch stalls every tab).
WORKERS = 2
MAX_PER_CLIENT = 24  # sessions of one client address: no single address can fill the server
# Open TCP connections (pages, sockets, idle floods), counted before aiohttp sees them: per client address
# and in all, well under the usual 1024 descriptors. A connection over either limit is answered 503 and closed.
MAX_CONNECTIONS_PER_CLIENT = 64
MAX_CONNECTIONS = 512
REFUSED_LINGER_S = 2.0  # a refused connection is closed by then at the latest
KEEPALIVE_S = 30.0  # an HTTP connection with no request for this long is closed (aiohttp's default is an hour)
IDLE_S = 15 * 60.0  # a session without any message from its page for this long is closed
LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}
log = logging.getLogger("perceptrons.playground")
T = TypeVar("T")


class Registry:
    """The open connections of one server: counts per client, workers, the served host names."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.conns: set[Connection] = set()
        self.per_client: dict[str, int] = {}
        # each session runs one job at a time; WORKERS threads take the jobs of all sessions in turn
        self.workers = concurrent.futures.ThreadPoolExecutor(WORKERS, thread_name_prefix="playground")
        self.refusals = Throttle()
        self.gate = Gate(self.refusals)


REGISTRY = web.AppKey("registry", Registry)


class Throttle:
    """Logs a repeated warning once per burst (then how many were left out), never a flood."""

    def __init__(self, every_s: float = 10.0) -> None:
        self.every_s = every_s
        self.last: dict[str, float] = {}
        self.dropped: dict[str, int] = {}

    def warn(self, key: str, message: str) -> None:
        now = time.monotonic()
        if now - self.last.get(key, -math.inf) < self.every_s:
            self.dropped[key] = self.dropped.get(key, 0) + 1
            return
        extra = f" ({self.dropped.pop(key)} more like it since the last report)" if self.dropped.get(key) else ""
        self.last[key] = now
        log.warning("%s%s", message, extra)


class Gate:
    """Open TCP connections per client address and in all; admits a new one only under both limits."""

    def __init__(self, throttle: Throttle) -> None:
        self.throttle = throttle
        self.open: dict[str, int] = {}
        self.total = 0

    def admit(self, client: str) -> str | None:
        """Count the connection in and return None, or say why it is refused."""
        if self.total >= MAX_CONNECTIONS:
            reason = f"the server has {MAX_CONNECTIONS} open connections, its limit"
        elif self.open.get(client, 0) >= MAX_CONNECTIONS_PER_CLIENT:
            reason = f"this address has {MAX_CONNECTIONS_PER_CLIENT} open connections, the limit per address"
        else:
            self.open[client] = self.open.get(client, 0) + 1
            self.total += 1
            return None
        self.throttle.warn("connections", f"playground: refused a connection from {client}: {reason}")
        return reason

    def release(self, client: str) -> None:
        self.total -= 1
        self.open[client] -= 1
        if not self.open[client]:
            del self.open[client]


class _Gated(asyncio.Protocol):
    """One TCP connection: counted by the gate before aiohttp's handler sees it, then every event passed on
    to that handler. Over a limit, the client gets a short HTTP 503 saying why, and the socket is closed."""

    def __init__(self, server: web.Server, gate: Gate) -> None:
        self.server, self.gate = server, gate
        self.inner: Any = None
        self.client = "?"
        self.linger: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        peer = transport.get_extra_info("peername")
        self.client = str(peer[0]) if peer else "?"
        reason = self.gate.admit(self.client)
        if reason is not None:
            body = f"refused: {reason}; close some connections (tabs) and retry.\n".encode()
            head = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
            head += f"Connection: close\r\nContent-Length: {len(body)}\r\n\r\n"
            stream = cast(asyncio.Transport, transport)
            stream.write(head.encode() + body)
            if stream.can_write_eof():
                stream.write_eof()
            # closed when the client has read the reply and closed its side, or after REFUSED_LINGER_S: closing
            # at once, with the client's request unread, would reset the connection and lose the reply
            self.linger = asyncio.get_running_loop().call_later(REFUSED_LINGER_S, stream.close)
            return
        self.inner = self.server()
        self.inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if self.inner is not None:
            self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received() if self.inner is not None else None  # refused: None closes it

    def pause_writing(self) -> None:
        if self.inner is not None:
            self.inner.pause_writing()

    def resume_writing(self) -> None:
        if self.inner is not None:
            self.inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.linger is not None:
            self.linger.cancel()
        if self.inner is not None:
            self.gate.release(self.client)
            self.inner.connection_lost(exc)


class GatedSite(web.TCPSite):
    """aiohttp's TCP site with every connection passing the registry's :class:`Gate` first."""

    async def start(self) -> None:
        await web.BaseSite.start(self)
        server = self._runner.server
        if server is None:
            raise RuntimeError("call runner.setup() before starting the site")
        gate = self._runner.app[REGISTRY].gate  # type: ignore[attr-defined]
        self._server = await asyncio.get_running_loop().create_server(
            lambda: _Gated(server, gate), self._host, self._port, backlog=self._backlog
        )
        self._bound_port = self._server.sockets[0].getsockname()[1] if self._server.sockets else self._port


def _finite(obj: Any) -> Any:
    """A copy of a JSON-ready value with NaN and infinities as None (JSON has no such numbers)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number JSON allows; send finite numbers")


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_DIGITS:  # Python refuses to convert such ints, and no setting needs them
        raise ValueError(
            f"a number of {len(text.lstrip('-'))} digits is not a number JSON allows here; send at most {MAX_DIGITS}"
        )
    return int(text)


class Connection:
    """One browser tab: its session and the play loop that streams frames."""

    def __init__(self, ws: web.WebSocketResponse, registry: Registry) -> None:
        self.ws = ws
        self.registry = registry
        self.session: Session | None = None
        self.playing = False
        self.wake = asyncio.Event()
        self.frames = 0
        self.busy = asyncio.Lock()  # one job of this session at a time (play loop and messages)
        self.last_message = time.monotonic()
        self.replaying: asyncio.Task[None] | None = None  # a shared link's run being replayed to its epoch

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` in a worker thread, after this session's previous job."""
        async with self.busy:
            return await self._job(fn, *args)

    async def _job(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.registry.workers, functools.partial(fn, *args))

    async def epoch_frame(self, session: Session, with_gradcheck: bool = True) -> dict[str, Any]:
        """One epoch, then its frame. The epoch goes to the workers in slices of about ``SLICE_S`` (each a
        job of its own, queued behind the other sessions' jobs), so a worker takes turns between sessions
        instead of training one big network for a whole epoch; the session's lock is held throughout, so
        no change (a new rate, an edited weight) lands inside an epoch."""
        async with self.busy:
            while not await self._job(session.train_slice):
                pass
            return await self._frame_jobs(session, with_gradcheck)

    async def frame(self, session: Session, with_gradcheck: bool = True) -> dict[str, Any]:
        """The session's frame, after its previous job."""
        async with self.busy:
            return await self._frame_jobs(session, with_gradcheck)

    async def _frame_jobs(self, session: Session, with_gradcheck: bool) -> dict[str, Any]:
        """The frame as jobs of about ``SLICE_S`` (:func:`_frame_slice`: a big network's parts, a few
        milliseconds each, one job each), so the other sessions' jobs take the workers between them;
        the caller holds ``busy``."""
        parts = session.frame_parts(with_gradcheck)
        while (frame := await self._job(_frame_slice, parts)) is None:
            pass
        return frame

    async def send(self, msg: dict[str, Any]) -> None:
        if self.ws.closed:
            return
        try:
            text = json.dumps(msg, allow_nan=False)
        except ValueError:  # a NaN somewhere (a gradient check of a diverging net): sent as null
            text = json.dumps(_finite(msg), allow_nan=False)
        await self.ws.send_str(text)

    async def error(self, message: str) -> None:
        await self.send({"type": "error", "message": message})

    async def play_loop(self) -> None:
        period = 1.0 / FPS
        while not self.ws.closed:
            if not (self.playing and self.session is not None) or self.replaying is not None:
                self.wake.clear()
                await self.wake.wait()
                continue
            t0 = time.perf_counter()
            session = self.session
            try:
                frame = await self.epoch_frame(session, self.frames % 5 == 0)
                if session is self.session:  # not replaced by a new config meanwhile
                    await self.send(frame)
                    self.frames += 1
                    if session.diverged:
                        self.playing = False
            except (ConnectionResetError, asyncio.CancelledError):
                raise
            except Exception as exc:  # reported, and the loop goes on serving this page
                self.playing = False
                log.exception("playground: a frame failed")
                await self.error(f"training paused: internal error while computing a frame ({type(exc).__name__}).")
            await asyncio.sleep(max(0.0, period - (time.perf_counter() - t0)))

    async def handle(self, text: str) -> None:
        self.last_message = time.monotonic()
        size = len(text) if len(text) > MAX_MESSAGE else len(text.encode("utf-8", "surrogatepass"))
        if size > MAX_MESSAGE:
            await self.error(f"message of {size} bytes is larger than the limit of {MAX_MESSAGE}; send less data.")
            return
        try:
            msg = json.loads(text, parse_constant=_reject_constant, parse_int=_parse_int)
        except ValueError as exc:
            detail = str(exc) if "JSON allows" in str(exc) else 'expected a JSON object like {"type": "play"}'
            await self.error(f"malformed message: {detail}.")
            return
        except RecursionError:
            await self.error("malformed message: nested too deeply.")
            return
        if not isinstance(msg, dict) or not isinstance(msg.get("type"), str):
            await self.error("malformed message: expected a JSON object with a string 'type'.")
            return
        await self.dispatch(msg["type"], msg)

    async def dispatch(self, kind: str, msg: dict[str, Any]) -> None:
        if kind == "config":
            try:
                session = await self.run(Session, msg.get("config", {}))
            except (ConfigError, ValueError, TypeError) as exc:
                await self.error(f"configuration refused: {exc}")
                return
            await self.start(session)
            return
        if self.session is None:
            await self.error(f"send a 'config' message before {kind[:40]!r}.")
            return
        if self.replaying is not None and kind in ("step", "lr", "edit", "save", "python"):
            await self.error(
                f"the shared run is still being replayed to epoch {self.session.config['epoch']} (now at "
                f"{self.session.epochs}); {kind!r} waits until it is there (play and pause are kept)."
            )
            return
        if kind == "play":
            self.playing = True
            self.wake.set()
        elif kind == "pause":
            self.playing = False
        elif kind == "step":
            self.playing = False
            await self.send(await self.epoch_frame(self.session))
        elif kind == "reset":  # the run from its start (a shared link's epoch too)
            await self.start(await self.run(Session, {**self.session.config, "epoch": 0}))
        elif kind == "lr":  # as a job of the session: between two epochs, never inside one
            try:
                await self.run(self.session.set_lr, msg.get("value"))
            except (ConfigError, ValueError, TypeError) as exc:
                await self.error(str(exc))
                return
            if not self.playing:  # the page learns the recorded schedule from the next frame
                await self.send(await self.frame(self.session, False))
        elif kind == "edit":
            try:
                await self.run(self.session.set_weight, msg.get("layer"), msg.get("i"), msg.get("j"), msg.get("value"))
            except (ConfigError, ValueError, TypeError) as exc:
                await self.error(str(exc))
                return
            await self.send(await self.frame(self.session, False))
        elif kind == "save":
            data = base64.b64encode(await self.run(self.session.model_bytes)).decode()
            await self.send({"type": "model", "filename": "playground-model.npz", "data": data})
        elif kind == "python":
            await self.send({"type": "python", "code": python_code(self.session.config, self.session.epochs)})
        else:
            shown = kind if len(kind) <= 40 else kind[:40] + "..."
            await self.error(
                f"unknown message type {shown!r}; expected config, play, pause, step, reset, lr, edit, save or python."
            )

    async def start(self, session: Session) -> None:
        self.stop_replay()
        self.playing = False
        self.session = session
        self.frames = 0
        await self.send(session.data_message())
        if session.epochs < session.config["epoch"]:  # a shared link: its epoch, not the run's start
            self.replaying = asyncio.create_task(self.replay(session))
        else:
            await self.send(await self.frame(session))

    def stop_replay(self) -> None:
        if self.replaying is not None:
            self.replaying.cancel()
            self.replaying = None

    async def replay(self, session: Session) -> None:
        """Replay ``session`` to its configured epoch in short jobs, then send that epoch's frame."""
        target = session.config["epoch"]
        try:
            while session.epochs < target and not session.diverged:
                await self.run(session.replay, target, REPLAY_SLICE_S)
                await self.send({"type": "replay", "epoch": session.epochs, "target": target})
            frame = await self.frame(session)
            frame["history"] = session.history()
            await self.send(frame)
        except ConnectionResetError:  # the page went away: nothing left to replay for
            return
        except Exception as exc:  # reported; the session stays usable at the epoch it reached
            log.exception("playground: a replay failed")
            await self.error(f"replaying the shared run failed: internal error ({type(exc).__name__}).")
        finally:
            if self.replaying is asyncio.current_task():
                self.replaying = None
                self.wake.set()  # play pressed meanwhile starts now


# -- who may connect ------------------------------------------------------------------------
def _host_name(value: str) -> str:
    """``example.com:8000`` -> ``example.com``; ``[::1]:8000`` -> ``::1``."""
    try:
        return (urlsplit("//" + value).hostname or "").lower()
    except ValueError:
        return ""


def _allowed_names(request: web.Request) -> set[str]:
    """The names a page of this server is reached by: loopback, the address served, the local socket."""
    registry = request.app[REGISTRY]
    names = set(LOOPBACK_NAMES)
    sock = request.transport.get_extra_info("sockname") if request.transport else None
    if sock:
        names.add(str(sock[0]).lower())
    host = registry.host.lower()
    try:
        if not ipaddress.ip_address(host).is_unspecified:
            names.add(host)
    except ValueError:
        names.add(host)  # a name given with --host
    return names


def _refusal(request: web.Request) -> str | None:
    """Why this request is refused (a foreign Host or Origin), or None."""
    allowed = _allowed_names(request)
    host = request.headers.get("Host", "")
    if _host_name(host) not in allowed:
        return f"Host {host[:80]!r} is not an address of this server"
    origin = request.headers.get("Origin")
    if origin is not None and request.path == "/ws":
        parts = urlsplit(origin) if origin != "null" else None
        if parts is None or parts.scheme not in ("http", "https") or parts.netloc.lower() != host.lower():
            return f"Origin {origin[:80]!r} is not a page of this server ({host[:80]})"
    return None


@web.middleware
async def guard(request: web.Request, handler: Callable[[web.Request], Any]) -> web.StreamResponse:
    reason = _refusal(request)
    if reason is not None:
        request.app[REGISTRY].refusals.warn(reason, f"playground: refused a request from {request.remote}: {reason}")
        return web.Response(status=403, text=f"refused: {reason}. Open the playground at the address it prints.\n")
    response: web.StreamResponse = await handler(request)
    return response


# -- the socket -----------------------------------------------------------------------------
class _Socket(web.WebSocketResponse):
    """aiohttp closes a socket on its own (code 1009) when a message is over ``max_msg_size``, before any
    handler sees it; this socket first tells the page why, in an ``error`` message like every other refusal."""

    async def close(self, *, code: int = WSCloseCode.OK, message: bytes = b"", drain: bool = True) -> bool:
        if code == WSCloseCode.MESSAGE_TOO_BIG and not self.closed:
            error = (
                f"a message over {HARD_MAX_MESSAGE} bytes closes the connection (messages are limited to "
                f"{MAX_MESSAGE} bytes); send less data, then reconnect."
            )
            try:
                await self.send_str(json.dumps({"type": "error", "message": error}))
            except (ConnectionError, RuntimeError):  # the page is gone already: nothing to tell
                pass
            # the rest of the message is still arriving (and discarded as it comes): closing now would leave it
            # unread, and the kernel would reset the connection, losing the error on its way to the page
            await asyncio.sleep(OVERSIZE_GRACE_S)
        return await super().close(code=code, message=message, drain=drain)


async def _refuse_ws(request: web.Request, ws: web.WebSocketResponse, message: str) -> web.WebSocketResponse:
    await ws.prepare(request)
    await ws.send_str(json.dumps({"type": "error", "message": message}))
    await ws.close()
    return ws


async def websocket(request: web.Request) -> web.WebSocketResponse:
    registry = request.app[REGISTRY]
    ws = _Socket(max_msg_size=HARD_MAX_MESSAGE, heartbeat=30)
    client = request.remote or "?"
    if len(registry.conns) >= MAX_SESSIONS:
        return await _refuse_ws(request, ws, "the server is full; try again later.")
    if registry.per_client.get(client, 0) >= MAX_PER_CLIENT:
        return await _refuse_ws(
            request, ws, f"this address already has {MAX_PER_CLIENT} open sessions; close some tabs and reload."
        )
    await ws.prepare(request)
    conn = Connection(ws, registry)
    registry.conns.add(conn)
    registry.per_client[client] = registry.per_client.get(client, 0) + 1
    loop_task = asyncio.create_task(conn.play_loop())
    try:
        await conn.send({"type": "hello", "limits": _limits()})
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                try:
                    await conn.handle(msg.data)
                except Exception as exc:  # a bug must not take the server down for everyone
                    log.exception("playground: a message failed")
                    await conn.error(f"internal error while handling the message: {type(exc).__name__}.")
            elif msg.type == WSMsgType.BINARY:
                await conn.error("binary messages are not accepted; send JSON text.")
            elif msg.type == WSMsgType.ERROR:
                break
    finally:
        registry.conns.discard(conn)
        registry.per_client[client] -= 1
        if not registry.per_client[client]:
            del registry.per_client[client]
        conn.wake.set()
        conn.stop_replay()
        loop_task.cancel()
        loop_task.add_done_callback(_settled)
    return ws


def _frame_slice(parts: Iterator[dict[str, Any] | None], seconds: float = SLICE_S) -> dict[str, Any] | None:
    """Run a frame's parts for about ``seconds``: the frame when done, else None (more parts to run). A
    small network's frame is one job; a big one's parts (a few milliseconds each) are jobs of their own."""
    end = time.perf_counter() + seconds
    for out in parts:
        if out is not None or time.perf_counter() >= end:
            return out
    raise RuntimeError("a frame's parts ended without the frame")  # not reached: the last part yields it


def _settled(task: asyncio.Task[None]) -> None:
    """A finished play loop's outcome, read so asyncio does not report "Task exception was never
    retrieved": a page that went away mid-frame is normal, anything else is logged."""
    if task.cancelled():
        return
    exc = task.exception()
    if exc is not None and not isinstance(exc, ConnectionError):
        log.error("playground: a play loop ended with %s: %s", type(exc).__name__, exc)


async def _expire_idle(app: web.Application) -> None:
    """Close sessions whose page has sent nothing for ``IDLE_S`` seconds (heartbeats do not count)."""
    registry = app[REGISTRY]
    while True:
        await asyncio.sleep(min(60.0, IDLE_S / 4))
        now = time.monotonic()
        for conn in list(registry.conns):
            if now - conn.last_message > IDLE_S:
                await conn.ws.close(code=WSCloseCode.GOING_AWAY, message=b"idle for too long")


async def _background(app: web.Application) -> Any:
    task = asyncio.create_task(_expire_idle(app))
    yield
    task.cancel()


async def _one_blas_thread(app: web.Application) -> Any:
    """BLAS on one thread while the server runs. The thread count is one setting of the whole process,
    so the per-call limits of the core (training) and of frames, entered and left by two worker threads
    at different times, undo each other: a worker restores "all cores" while the other computes, whose
    products then wait on a second thread that a busy core does not give them (a 6 x 64 frame took
    200 ms instead of 15 here). Sessions already share the cores between them."""
    limiter = ThreadpoolController().limit(limits=1, user_api="blas")
    yield
    limiter.restore_original_limits()


async def _close_all(app: web.Application) -> None:
    """On shutdown: every page learns at once (code 1001) instead of waiting for a heartbeat."""
    registry = app[REGISTRY]
    for conn in list(registry.conns):
        conn.playing = False
        await conn.ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutting down")
    registry.workers.shutdown(wait=False, cancel_futures=True)


def _limits() -> dict[str, Any]:
    return {**LIMITS, "message_bytes": MAX_MESSAGE}


async def index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html")


def make_app(host: str = "127.0.0.1") -> web.Application:
    """The playground application; ``host`` is the address it serves (Host/Origin are checked against it)."""
    app = web.Application(client_max_size=2 * 1024 * 1024, middlewares=[guard])
    app[REGISTRY] = Registry(host)
    app.router.add_get("/", index)
    app.router.add_get("/ws", websocket)
    app.router.add_static("/static/", STATIC)
    app.cleanup_ctx.append(_background)
    app.cleanup_ctx.append(_one_blas_thread)
    app.on_shutdown.append(_close_all)
    return app


def _quiet_accept_errors(loop: asyncio.AbstractEventLoop, throttle: Throttle) -> None:
    """Out of descriptors (a flood of idle sockets): one log line per burst, not a traceback per accept."""
    default = loop.get_exception_handler()

    def handler(lp: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        message = str(context.get("message", ""))
        if "accept" in message or isinstance(context.get("exception"), (ConnectionError, TimeoutError)):
            throttle.warn("accept", f"playground: {message or context.get('exception')}")
        elif default is not None:
            default(lp, context)
        else:
            lp.default_exception_handler(context)

    loop.set_exception_handler(handler)


def serve(host: str = "127.0.0.1", port: int = 8000, open_browser: bool = True) -> None:
    """Run the playground until interrupted, printing its address."""
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    url = f"http://{host if ':' not in host else f'[{host}]'}:{port}/"
    print(f"perceptrons playground at {url}  (Ctrl-C to stop)", flush=True)
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host.lower() == "localhost"
    if not loopback:
        print(
            f"warning: --host {host} makes the playground reachable from the network: anyone who can reach "
            "this machine can train networks on it. Use the default (127.0.0.1) unless you mean it.",
            flush=True,
        )
    if open_browser:
        threading.Timer(0.5, lambda: webbrowser.open(url)).start()
    app = make_app(host)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    _quiet_accept_errors(loop, app[REGISTRY].refusals)
    runner = web.AppRunner(app, handle_signals=True, shutdown_timeout=2.0, keepalive_timeout=KEEPALIVE_S)
    loop.run_until_complete(runner.setup())
    try:
        loop.run_until_complete(GatedSite(runner, host, port).start())
        loop.run_forever()
    except (web.GracefulExit, KeyboardInterrupt):  # Ctrl-C or SIGTERM
        pass
    finally:
        loop.run_until_complete(runner.cleanup())  # closes every socket (code 1001)
        loop.close()


class BackgroundServer:
    """The playground on a free loopback port in a background thread (for tests and scripts)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.url = ""

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        app = make_app()
        _quiet_accept_errors(self.loop, app[REGISTRY].refusals)
        runner = web.AppRunner(app, shutdown_timeout=2.0, keepalive_timeout=KEEPALIVE_S)
        self.loop.run_until_complete(runner.setup())
        site = GatedSite(runner, "127.0.0.1", 0)
        self.loop.run_until_complete(site.start())
        port = site.port
        self.url = f"http://127.0.0.1:{port}/"
        self.runner = runner
        self.ready.set()
        self.loop.run_forever()
        self.loop.run_until_complete(runner.cleanup())  # closes every socket (code 1001)

    def __enter__(self) -> BackgroundServer:
        self.thread.start()
        self.ready.wait(10)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    def stop(self) -> None:
        """Shut the server down as Ctrl-C would (open sockets are closed), then stop its thread."""
        self.__exit__()
