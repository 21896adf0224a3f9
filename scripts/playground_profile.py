"""Where a playing playground tab's time goes: frames drawn and received per second, the page's functions
(time per call), the CPU of the page (Chromium renderer + GPU process) per frame drawn and of the server
per frame sent, the server's job per frame (wall and CPU).

.venv/bin/python scripts/playground_profile.py '#layers=64,64,64,64,64,64&activation=relu&lr=0.01' ['#...' ...]

Each argument opens one tab (its URL hash); all tabs play, the first 2 s are skipped, the next 6 s
measured. CPU per frame is the steadier number on a machine that other jobs share.
"""

import collections
import json
import os
import shutil
import sys
import time

from playwright.sync_api import sync_playwright

from perceptrons.playground.server import BackgroundServer, Connection

WRAP = """() => {
  const T = window.__T = {};
  const wrap = (name) => { const f = window[name]; if (!f) return;
    window[name] = function (...a) { const t = performance.now(); try { return f.apply(this, a); }
      finally { const e = T[name] || (T[name] = [0, 0]); e[0] += performance.now() - t; e[1] += 1; } }; };
  for (const n of ["onFrame", "drawAll", "drawHeat", "drawNetwork", "drawCurves", "drawBackward", "layerWires", "drawColumn"]) wrap(n);
}"""
JOBS: dict[int, list[tuple[float, float]]] = collections.defaultdict(list)
_play_step = Connection._play_step


def timed(session, with_gradcheck):
    t, c = time.perf_counter(), time.thread_time()
    try:
        return _play_step(session, with_gradcheck)
    finally:
        JOBS[sum(session.net.sizes)].append((time.perf_counter() - t, time.thread_time() - c))


Connection._play_step = staticmethod(timed)


def cpu_seconds() -> collections.Counter:
    """CPU seconds so far of this process (server) and of Chromium's renderer and GPU processes."""
    out: collections.Counter = collections.Counter()
    tick = os.sysconf("SC_CLK_TCK")
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat, cmd = open(f"/proc/{pid}/stat").read(), open(f"/proc/{pid}/cmdline").read()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        t = (int(fields[11]) + int(fields[12])) / tick
        if int(pid) == os.getpid():
            out["server"] += t
        elif "chrom" in cmd and ("--type=renderer" in cmd or "--type=gpu" in cmd):
            out["page"] += t
    return out


def snapshot(pages):
    return [p.evaluate("[window.__pg.drawn, window.__pg.frames, JSON.stringify(window.__T)]") for p in pages]


hashes = sys.argv[1:] or ["#layers=64,64,64,64,64,64&activation=relu&lr=0.01"]
with BackgroundServer() as server, sync_playwright() as pw:
    browser = pw.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox", "--disable-gpu"])
    pages = []
    for h in hashes:
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.goto(server.url + h)
        page.wait_for_function("window.__pg.drawn >= 1")
        page.evaluate(WRAP)
        pages.append(page)
    for page in pages:
        page.get_by_role("button", name="Play").click()
    pages[0].wait_for_timeout(2000)
    c0, t0, s0 = cpu_seconds(), time.time(), snapshot(pages)
    pages[0].wait_for_timeout(6000)
    c1, t1, s1 = cpu_seconds(), time.time(), snapshot(pages)
    browser.close()
dt = t1 - t0
drawn, received = (sum(b[k] - a[k] for a, b in zip(s0, s1)) for k in (0, 1))
for h, a, b in zip(hashes, s0, s1):
    print(f"{h or 'default'}: {(b[0] - a[0]) / dt:.1f} frames drawn/s, {(b[1] - a[1]) / dt:.1f} received/s")
    ta, tb = json.loads(a[2]), json.loads(b[2])
    for k, (ms, n) in tb.items():
        ms, n = ms - ta.get(k, [0, 0])[0], n - ta.get(k, [0, 0])[1]
        print(f"   {k:13s} {ms / max(n, 1):6.2f} ms a call, {n / dt:6.1f} calls/s")
print(f"page CPU per frame drawn: {1000 * (c1['page'] - c0['page']) / max(drawn, 1):.1f} ms (all tabs)")
print(f"server CPU per frame sent: {1000 * (c1['server'] - c0['server']) / max(received, 1):.1f} ms")
for size, jobs in JOBS.items():
    jobs = jobs[len(jobs) // 4 :]
    wall, cpu = (1000 * sum(j[k] for j in jobs) / len(jobs) for k in (0, 1))
    print(f"server job of the network with {size} units in all: {wall:.1f} ms wall, {cpu:.1f} ms CPU a frame")
