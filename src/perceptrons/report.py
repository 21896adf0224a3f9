"""Write a :class:`~perceptrons.study.Study` as a report: ``index.html`` (self-contained, offline),
``report.pdf`` (a page per section, then a page per figure), every figure as PNG, and
``metrics.json`` with every number the text quotes."""

from __future__ import annotations

import base64
import html
import io
import json
import re
import textwrap
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.backends.backend_pdf import PdfPages

from . import __version__
from .io import replace_dir
from .study import Study

_QUOTE = re.compile("\x00([^\x01]*)\x01([^\x02]*)\x02")

# MathML Core renders offline in every current browser; no script, no network.
_MATH = {
    "one": [
        (
            "Forward",
            "<mi>z</mi><mo>=</mo><msup><mi>W</mi><mo>⊤</mo></msup><mi>x</mi><mo>+</mo><mi>b</mi><mo>,</mo>"
            "<mspace width='1em'/><mi>p</mi><mo>=</mo><mi>softmax</mi><mo>(</mo><mi>z</mi><mo>)</mo><mo>,</mo>"
            "<mspace width='1em'/><mi>L</mi><mo>=</mo><mo>−</mo><mi>log</mi><msub><mi>p</mi><mi>y</mi></msub>"
            "<mo>=</mo><mi>log</mi><munder><mo>∑</mo><mi>k</mi></munder><msup><mi>e</mi><msub><mi>z</mi><mi>k</mi></msub>"
            "</msup><mo>−</mo><msub><mi>z</mi><mi>y</mi></msub>",
        ),
        (
            "Logits",
            "<mfrac><mrow><mo>∂</mo><mi>L</mi></mrow><mrow><mo>∂</mo><msub><mi>z</mi><mi>k</mi></msub></mrow>"
            "</mfrac><mo>=</mo><msub><mi>p</mi><mi>k</mi></msub><mo>−</mo><msub><mn>𝟙</mn><mrow><mi>k</mi><mo>=</mo>"
            "<mi>y</mi></mrow></msub><mspace width='1em'/><mo>⇒</mo><mspace width='1em'/><mi>δ</mi><mo>=</mo><mi>p</mi>"
            "<mo>−</mo><msub><mi>e</mi><mi>y</mi></msub>",
        ),
        (
            "One layer",
            "<msub><mo>∇</mo><mi>W</mi></msub><mi>L</mi><mo>=</mo><mi>x</mi><mspace width='0.2em'/>"
            "<msup><mi>δ</mi><mo>⊤</mo></msup><mo>,</mo><mspace width='1em'/><msub><mo>∇</mo><mi>b</mi></msub><mi>L</mi>"
            "<mo>=</mo><mi>δ</mi>",
        ),
    ],
    "relu": [
        (
            "Hidden layer",
            "<mi>h</mi><mo>=</mo><mi>f</mi><mo>(</mo><msubsup><mi>W</mi><mi>h</mi><mo>⊤</mo></msubsup>"
            "<mi>x</mi><mo>+</mo><msub><mi>b</mi><mi>h</mi></msub><mo>)</mo><mo>,</mo><mspace width='1em'/><mi>z</mi>"
            "<mo>=</mo><msubsup><mi>W</mi><mi>o</mi><mo>⊤</mo></msubsup><mi>h</mi><mo>+</mo><msub><mi>b</mi><mi>o</mi>"
            "</msub>",
        ),
        (
            "Output layer",
            "<msub><mo>∇</mo><msub><mi>W</mi><mi>o</mi></msub></msub><mi>L</mi><mo>=</mo><mi>h</mi>"
            "<msup><mi>δ</mi><mo>⊤</mo></msup><mo>,</mo><mspace width='1em'/><msub><mo>∇</mo><msub><mi>b</mi><mi>o</mi>"
            "</msub></msub><mi>L</mi><mo>=</mo><mi>δ</mi>",
        ),
        (
            "ReLU",
            "<msub><mi>δ</mi><mi>h</mi></msub><mo>=</mo><mo>(</mo><msub><mi>W</mi><mi>o</mi></msub><mi>δ</mi>"
            "<mo>)</mo><mo>⊙</mo><msub><mn>𝟙</mn><mrow><mi>h</mi><mo>&gt;</mo><mn>0</mn></mrow></msub><mo>,</mo>"
            "<mspace width='1em'/><msub><mo>∇</mo><msub><mi>W</mi><mi>h</mi></msub></msub><mi>L</mi><mo>=</mo><mi>x</mi>"
            "<msubsup><mi>δ</mi><mi>h</mi><mo>⊤</mo></msubsup><mo>,</mo><mspace width='1em'/><msub><mo>∇</mo><msub>"
            "<mi>b</mi><mi>h</mi></msub></msub><mi>L</mi><mo>=</mo><msub><mi>δ</mi><mi>h</mi></msub>",
        ),
    ],
    "tanh": [
        (
            "tanh",
            "<msub><mi>δ</mi><mi>h</mi></msub><mo>=</mo><mo>(</mo><msub><mi>W</mi><mi>o</mi></msub><mi>δ</mi>"
            "<mo>)</mo><mo>⊙</mo><mo>(</mo><mn>1</mn><mo>−</mo><mi>h</mi><mo>⊙</mo><mi>h</mi><mo>)</mo><mo>,</mo>"
            "<mspace width='1em'/><mtext>since</mtext><mspace width='0.5em'/><msup><mi>tanh</mi><mo>′</mo></msup>"
            "<mo>(</mo><mi>a</mi><mo>)</mo><mo>=</mo><mn>1</mn><mo>−</mo><msup><mi>tanh</mi><mn>2</mn></msup><mo>(</mo>"
            "<mi>a</mi><mo>)</mo><mo>=</mo><mn>1</mn><mo>−</mo><msup><mi>h</mi><mn>2</mn></msup>",
        ),
        (
            "Batch of N rows",
            "<msub><mo>∇</mo><mi>W</mi></msub><mi>L</mi><mo>=</mo><mfrac><mn>1</mn><mi>N</mi></mfrac>"
            "<msup><mi>X</mi><mo>⊤</mo></msup><mo>(</mo><mi>P</mi><mo>−</mo><mi>Y</mi><mo>)</mo><mspace width='1em'/>"
            "<mtext>(the same equations, one sample per row)</mtext>",
        ),
    ],
}
_MATH_TEXT = [  # the same equations in matplotlib mathtext, for the PDF
    r"$z = W^\top x + b,\quad p = \mathrm{softmax}(z),\quad L = -\log p_y = \log\sum_k e^{z_k} - z_y$",
    r"$\partial L/\partial z_k = p_k - 1[k=y] \;\Rightarrow\; \delta = p - e_y,\quad "
    r"\nabla_W L = x\,\delta^\top,\quad \nabla_b L = \delta$",
    r"$h = f(W_h^\top x + b_h),\quad z = W_o^\top h + b_o,\quad \nabla_{W_o} L = h\,\delta^\top,\quad "
    r"\nabla_{b_o} L = \delta$",
    r"ReLU: $\delta_h = (W_o\delta)\odot 1[h>0],\quad \nabla_{W_h} L = x\,\delta_h^\top,\quad "
    r"\nabla_{b_h} L = \delta_h$",
    r"tanh: $\delta_h = (W_o\delta)\odot(1 - h\odot h)$, since $\tanh'(a) = 1 - \tanh^2(a) = 1 - h^2$",
]

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;
color:#222;line-height:1.5}h1{margin-bottom:0}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
.setup{background:#f5f7fa;border-left:4px solid #0072B2;padding:.5em 1em}figure{margin:1em 0}img{max-width:100%}
table{border-collapse:collapse;margin:1em 0;font-size:.9em}td,th{border:1px solid #ccc;padding:.25em .6em;
text-align:right}th{background:#eef}caption{text-align:left;font-weight:600;padding:.3em 0}
.num{font-weight:600;color:#0b4f8a}math{font-size:1.1em}.eq{margin:.6em 0}.meta{color:#666}
"""


def _plain(text: str) -> str:
    return _QUOTE.sub(lambda mt: mt.group(2), text)


def _html_text(text: str) -> str:
    parts = []
    pos = 0
    for mt in _QUOTE.finditer(text):
        parts.append(html.escape(text[pos : mt.start()]))
        key = html.escape(mt.group(1))
        parts.append(
            f'<span class="num" data-key="{key}" title="metrics.json: {key}">{html.escape(mt.group(2))}</span>'
        )
        pos = mt.end()
    parts.append(html.escape(text[pos:]))
    return "".join(parts)


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    return buf.getvalue()


def _json_default(o: Any) -> Any:
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, np.bool_):
        return bool(o)
    raise TypeError(type(o).__name__)


def write_report(study: Study, out: str | Path, formats: tuple[str, ...] = ("html", "pdf")) -> dict[str, Path]:
    """Write the report files into ``out`` (created if needed); returns name -> path."""
    final = Path(out)
    written: dict[str, Path] = {}
    # written whole into a folder beside the target, then swapped in: Ctrl-C leaves the old report
    replace_dir(final, lambda tmp: _write_files(study, tmp, formats, written), owns=report_file)
    for fig in study.figures.values():
        plt.close(fig)
    return {name: final / path.name for name, path in written.items()}


def report_file(name: str) -> bool:
    """Whether a file in an existing report folder is one a report writes (so replacing it loses nothing)."""
    return name.endswith(".png") or name in ("metrics.json", "index.html", "report.pdf")


def _write_files(study: Study, out: Path, formats: tuple[str, ...], written: dict[str, Path]) -> None:
    pngs = {name: _png(fig) for name, fig in study.figures.items()}
    for name, data in pngs.items():
        (out / f"{name}.png").write_bytes(data)
    metrics_bytes = json.dumps(study.metrics, indent=2, default=_json_default).encode()
    (out / "metrics.json").write_bytes(metrics_bytes)
    written["metrics"] = out / "metrics.json"
    if "html" in formats:
        (out / "index.html").write_bytes(_html(study, pngs).encode())
        written["html"] = out / "index.html"
    if "pdf" in formats:
        (out / "report.pdf").write_bytes(_pdf(study, pngs))
        written["pdf"] = out / "report.pdf"


def _html(study: Study, pngs: dict[str, bytes]) -> str:
    cfg = study.config
    h = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        "<title>perceptrons: the course study</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>Perceptrons and backpropagation: the course study</h1>",
        f"<p class='meta'>perceptrons {__version__}, seed {cfg.seed}{', quick mode' if cfg.quick else ''}; "
        f"the whole study ran in {study.metrics['total_time_s']:.1f} s. Every number in the text is measured by "
        "this run and stored in <code>metrics.json</code> under the key shown when you hover it.</p>",
        "<nav><ol>"
        + "".join(f"<li><a href='#{s.key}'>{html.escape(s.title)}</a></li>" for s in study.sections)
        + "</ol></nav>",
    ]
    for s in study.sections:
        h.append(f"<section id='{s.key}'><h2>{html.escape(s.title)}</h2>")
        h.append(f"<p class='setup'>{html.escape(s.setup)}</p>")
        if s.key == "gradients":
            for group, title in (("one", "Single layer"), ("relu", "Hidden layer with ReLU"), ("tanh", "With tanh")):
                h.append(f"<h3>{title}</h3>")
                for label, mathml in _MATH[group]:
                    h.append(f"<div class='eq'>{label}: <math display='block'>{mathml}</math></div>")
        for t in s.text:
            h.append(f"<p>{_html_text(t)}</p>")
        for caption, heads, rows in s.tables:
            h.append(
                f"<table><caption>{html.escape(caption)}</caption><tr>"
                + "".join(f"<th>{html.escape(x)}</th>" for x in heads)
                + "</tr>"
            )
            for r in rows:
                h.append("<tr>" + "".join(f"<td>{html.escape(x)}</td>" for x in r) + "</tr>")
            h.append("</table>")
        for name in s.figures:
            b64 = base64.b64encode(pngs[name]).decode()
            h.append(f"<figure><img alt='{name}' src='data:image/png;base64,{b64}'></figure>")
        h.append("</section>")
    h.append("</body></html>")
    return "\n".join(h)


def _pdf(study: Study, pngs: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with PdfPages(buf) as pdf:
        for s in study.sections:
            fig = plt.figure(figsize=(8.27, 11.69))
            y = 0.95
            fig.text(0.07, y, s.title, fontsize=16, weight="bold", va="top")
            y -= 0.045
            blocks: list[tuple[str, float, str]] = [(line, 8.5, "sans-serif") for line in textwrap.wrap(s.setup, 105)]
            blocks.append(("", 8.5, "sans-serif"))
            if s.key == "gradients":
                blocks += [(eq, 10, "sans-serif") for eq in _MATH_TEXT] + [("", 8.5, "sans-serif")]
            for t in s.text:
                blocks += [(line, 9, "sans-serif") for line in textwrap.wrap(_plain(t), 100)]
                blocks.append(("", 5, "sans-serif"))
            for caption, heads, rows in s.tables:
                table = [heads] + rows
                widths = [max(len(r[i]) for r in table) for i in range(len(heads))]
                blocks.append((caption, 8.5, "sans-serif"))
                for r in table:
                    blocks.append(("  ".join(c.rjust(w) for c, w in zip(r, widths)), 6.3, "monospace"))
                blocks.append(("", 6, "sans-serif"))
            for line, size, family in blocks:
                fig.text(0.07, y, line, fontsize=size, family=family, va="top")
                y -= size * 0.0018 + 0.004
            if s.figures and y > 0.3:  # the section's first figure under its text
                img = plt.imread(io.BytesIO(pngs[s.figures[0]]))
                h_frac = min(y - 0.05, 0.86 * img.shape[0] / img.shape[1] * 8.27 / 11.69)
                ax = fig.add_axes((0.07, y - 0.02 - h_frac, 0.86, h_frac))
                ax.imshow(img)
                ax.axis("off")
                rest = s.figures[1:]
            else:
                rest = s.figures
            pdf.savefig(fig)
            plt.close(fig)
            for name in rest:
                img = plt.imread(io.BytesIO(pngs[name]))
                fig = plt.figure(figsize=(8.27, 11.69))
                fig.text(0.07, 0.95, f"{s.title} (continued)", fontsize=13, weight="bold", va="top")
                ax = fig.add_axes((0.05, 0.1, 0.9, 0.8))
                ax.imshow(img)
                ax.axis("off")
                pdf.savefig(fig)
                plt.close(fig)
        d = pdf.infodict()
        d["Title"] = "perceptrons: the course study"
    return buf.getvalue()
