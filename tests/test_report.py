"""The main job: `perceptrons report --quick`, checked in a real headless browser, in the PDF and in
metrics.json, and against the plausibility facts of the course."""

import functools
import http.server
import json
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _run_report(out: Path, seed: int) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["sh", "-c", 'umask 022 && exec "$0" -m perceptrons report --quick --seed "$1" --out "$2"', sys.executable,
         str(seed), str(out)],
        capture_output=True,
        text=True,
        check=True,
    )  # fmt: skip


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    proc = _run_report(out, 0)
    return out, proc


def _get(metrics, key):
    v = metrics
    for part in key.split("."):
        v = v[int(part)] if isinstance(v, list) else v[part]  # a numeric part indexes a list
    return v


def test_files_written_and_location_printed(report):
    out, proc = report
    for name in ("index.html", "report.pdf", "metrics.json", "blobs_boundary.svg", "relu_vs_tanh.svg"):
        assert (out / name).stat().st_size > 1000, name
    assert str((out / "index.html").resolve()) in proc.stdout
    assert proc.stderr == ""  # not a terminal: no progress bar


def test_files_get_the_umask_permissions(report):
    out, _ = report
    for name in ("index.html", "report.pdf", "metrics.json", "relu_vs_tanh.svg"):
        assert (out / name).stat().st_mode & 0o777 == 0o644, name  # what umask 022 gives any new file


def test_every_quoted_number_is_in_metrics(report):
    out, _ = report
    metrics = json.loads((out / "metrics.json").read_text())
    html = (out / "index.html").read_text()
    quotes = re.findall(r'<span class="num" data-key="([^"]+)"[^>]*>([^<]+)</span>', html)
    assert len(quotes) > 40
    for key, text in quotes:
        value = _get(metrics, key)
        assert isinstance(value, (int, float)), key
        decimals = len(text.split(".")[1].split("e")[0]) if "." in text else 0
        assert float(text) == pytest.approx(value, abs=0.51 * 10**-decimals, rel=1e-3 if "e" in text else 0), key


def test_plausibility_of_the_study(report):
    out, _ = report
    m = json.loads((out / "metrics.json").read_text())
    assert m["blobs"]["test_accuracy"] >= 0.95
    assert m["blobs"]["gradcheck_max_norm_error"] < 1e-6
    assert m["moons_linear"]["test_accuracy"] < 0.90
    assert m["moons_relu16"]["test_accuracy"] > m["moons_linear"]["test_accuracy"]
    relu = m["circles_relu"]
    assert relu["50"]["test_accuracy"]["mean"] > relu["2"]["test_accuracy"]["mean"]
    regions = [relu[str(w)]["regions"]["mean"] for w in (2, 5, 10, 15, 20, 50)]
    assert regions == sorted(regions) and regions[-1] > regions[0]
    for w in (2, 5, 10, 15, 20, 50):  # at most 1 + H + H(H-1)/2 regions for H lines
        assert relu[str(w)]["regions"]["mean"] <= 1 + w + w * (w - 1) // 2
    tanh = m["circles_tanh"]
    assert all(tanh[str(w)]["corner_share"]["mean"] == 0.0 for w in (5, 50))  # tanh is smooth
    assert relu["50"]["corner_share"]["mean"] > 0.9  # a ReLU boundary turns only at corners
    assert m["moons_linear"]["lr"] == m["moons_relu16"]["lr"]  # compared at one learning rate
    assert all(g["passed"] for k, g in m["gradcheck"].items() if isinstance(g, dict))


def test_pdf_is_typeset_with_every_section(report):
    out, _ = report
    pdf = (out / "report.pdf").read_bytes()
    assert pdf.startswith(b"%PDF")
    assert b"Typst" in pdf  # typeset by the Typst compiler, not drawn by matplotlib
    html = (out / "index.html").read_text()
    sections = html.count("<section id=")
    assert sections == 10
    pages = len(re.findall(rb"/Type\s*/Page\b", pdf))
    assert sections // 2 <= pages <= 40


def test_other_seed_gives_other_numbers(report, tmp_path):
    out, _ = report
    _run_report(tmp_path, 1)
    a = json.loads((out / "metrics.json").read_text())
    b = json.loads((tmp_path / "metrics.json").read_text())
    assert a["blobs"]["final_loss_ma50"] != b["blobs"]["final_loss_ma50"]
    assert a["circles_relu"]["10"]["test_accuracy"] != b["circles_relu"]["10"]["test_accuracy"]
    assert a["moons_relu16"]["test_accuracy"] != b["moons_relu16"]["test_accuracy"] or (
        a["moons_linear"]["test_accuracy"] != b["moons_linear"]["test_accuracy"]
    )


def test_html_opens_offline_in_a_real_browser(report):
    from playwright.sync_api import sync_playwright

    assert CHROMIUM, "Chromium is missing: run the README's test command (scripts/test.sh installs it)"
    out, _ = report
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(out))
    handler.log_message = lambda *a: None  # type: ignore[method-assign]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/index.html"
    requests, failed = [], []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page()
            page.on("request", lambda r: requests.append(r.url))
            page.on("requestfailed", lambda r: failed.append(r.url))
            page.goto(url, wait_until="load")
            images = page.evaluate("[...document.images].map(i => [i.complete, i.naturalWidth, i.alt.length])")
            figures = page.evaluate(
                "[...document.querySelectorAll('figure')].map(f => [f.querySelector('img').src.slice(0, 18),"
                " f.querySelector('figcaption').textContent])"
            )
            eq_widths = page.evaluate(
                "[...document.querySelectorAll('.eq img')].map(i => i.getBoundingClientRect().width)"
            )
            browser.close()
    finally:
        server.shutdown()
    assert failed == []
    assert all(u == url or u.startswith("data:") for u in requests), requests
    assert len(images) >= 10 and all(ok and w > 100 and alt > 20 for ok, w, alt in images)
    assert len(figures) >= 12
    for i, (src, caption) in enumerate(figures):
        assert src == "data:image/svg+xml"  # vector figures
        assert caption.startswith(f"Figure {i + 1}.")
    assert len(eq_widths) >= 8 and min(eq_widths) > 100


def test_progress_bar_ends_at_100_percent_and_is_silent_when_disabled(capsys):
    from perceptrons.cli import _Progress

    bar = _Progress(True)
    bar("circles", 0.42)
    bar("writing", 0.96)
    bar.done()
    shown = capsys.readouterr().err.split("\r")[-1]
    assert shown.lstrip().startswith("100%") and "done" in shown
    quiet = _Progress(False)
    quiet("circles", 0.5)
    quiet.done()
    assert capsys.readouterr().err == ""


def _without_times(metrics):
    """The metrics with every wall-clock time taken out (the only numbers a run's speed may change)."""
    if isinstance(metrics, dict):
        return {k: _without_times(v) for k, v in metrics.items() if "time" not in k}
    if isinstance(metrics, list):
        return [_without_times(v) for v in metrics]
    return metrics


def test_jobs_give_the_same_numbers(report, tmp_path):
    """`--jobs 2` sends the circles grid's cells to two joblib workers: every number is the in-process run's."""
    out, _ = report
    cmd = [sys.executable, "-m", "perceptrons", "report", "--quick", "--jobs", "2", "--format", "html", "--quiet",
           "--out", str(tmp_path)]  # fmt: skip
    subprocess.run(cmd, capture_output=True, text=True, check=True)
    a = json.loads((out / "metrics.json").read_text())
    b = json.loads((tmp_path / "metrics.json").read_text())
    assert _without_times(a) == _without_times(b)
    assert a["circles_relu"]["50"]["test_accuracy"]["values"] == b["circles_relu"]["50"]["test_accuracy"]["values"]
