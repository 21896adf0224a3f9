"""Write a :class:`~perceptrons.study_model.Study` as a report: ``index.html`` (self-contained,
offline, figures and equations as SVG), ``report.pdf`` (typeset by Typst from the same sections:
title block, contents, page numbers, numbered figures, tables and equations), every figure as SVG,
and ``metrics.json`` with every number the text quotes.

The equations are written once, in Typst's math syntax: the PDF typesets them in place, the HTML
shows them as SVG rendered by the same compiler (with the plain-text form as alt text).
"""

from __future__ import annotations

import base64
import html
import io
import json
import re
import tempfile
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import typst

from . import __version__
from .io import replace_dir
from .study_model import Eq, Study, Table

_QUOTE = re.compile("\x00([^\x01]*)\x01([^\x02]*)\x02")
TITLE = "Perceptrons and backpropagation: the course study"

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;
color:#222;line-height:1.5}h1{margin-bottom:0}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
.setup{background:#f5f7fa;border-left:4px solid #0072B2;padding:.5em 1em}figure{margin:1.2em 0}
figure img{max-width:100%;height:auto}figcaption{font-size:.92em;color:#333;margin-top:.3em}
table{border-collapse:collapse;margin:1em 0;font-size:.85em}td,th{border:1px solid #ccc;padding:.2em .5em;
text-align:right}th{background:#eef}caption{text-align:left;font-weight:600;padding:.3em 0}
.num{font-weight:600;color:#0b4f8a}.eq{display:flex;align-items:center;margin:.6em 0}.eq img{max-width:92%}
.eq span{margin-left:auto;color:#555}.meta{color:#666}
"""

# The PDF's layout; the content comes from content.json (strings are set as text, never parsed as markup).
_TEMPLATE = r"""
#let d = json("content.json")
#set document(title: d.title)
#set page(paper: "a4", margin: (x: 1.9cm, top: 2cm, bottom: 2.2cm), numbering: "1 of 1",
  header: context { if counter(page).get().first() > 1 [#set text(8pt, fill: luma(90)); #d.title #h(1fr) seed #d.seed] })
#set text(size: 10pt)
#set par(justify: true)
#set heading(numbering: "1.")
#set math.equation(numbering: "(1)")
#show figure.caption: set text(size: 8.5pt)
#show figure: set block(breakable: false)
#align(center)[
  #text(18pt, weight: "bold", d.title) \
  #v(2pt) #text(10pt)[#d.subtitle] \
  #v(2pt) #text(9pt, fill: luma(80))[#d.meta]
]
#v(6pt)
#outline(depth: 1, indent: 0pt)
#for s in d.sections [
  #heading(level: 1, s.title)
  #block(sticky: true, fill: luma(244), inset: 7pt, radius: 2pt, width: 100%, text(size: 8.5pt)[#s.setup])
  #for b in s.blocks {
    if b.kind == "p" { par[#b.text] }
    else if b.kind == "eq" { math.equation(block: true, eval(b.math, mode: "math")) }
    else if b.kind == "fig" { figure(image(b.file, width: b.width * 100%, alt: b.alt), caption: [#b.caption]) }
    else if b.kind == "table" {
      figure(kind: table, caption: [#b.caption],
        text(size: if b.heads.len() > 8 { 6.5pt } else { 8pt },
          table(columns: b.heads.len(), inset: 3.5pt, align: right,
            ..b.heads.map(x => strong(x)), ..b.rows.flatten())))
    }
    else if b.kind == "list" { list(..b.items.map(x => [#x])) }
  }
]
"""

_EQ_TEMPLATE = r"""
#set page(width: auto, height: auto, margin: 3pt, fill: none)
#set text(size: 13pt)
#let d = json("eqs.json")
#for (i, e) in d.enumerate() {
  if i > 0 { pagebreak() }
  $ #eval(e, mode: "math") $
}
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


def _json_default(o: Any) -> Any:
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, np.bool_):
        return bool(o)
    raise TypeError(type(o).__name__)


def _save(fig: Any, fmt: str, dpi: int = 200) -> bytes:
    """The figure as ``fmt`` bytes; in SVG everything is vector except images and artists marked
    rasterized (decision-function backgrounds, dense point clouds), embedded at ``dpi``."""
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=dpi, metadata={"Date": None} if fmt == "svg" else None)
    return buf.getvalue()


def _numbers(study: Study) -> dict[str, int]:
    """Figure name -> its number, in reading order."""
    order = [name for s in study.sections for name in s.figures]
    return {name: i + 1 for i, name in enumerate(order)}


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
    return name.endswith((".svg", ".png")) or name in ("metrics.json", "index.html", "report.pdf")


def _write_files(study: Study, out: Path, formats: tuple[str, ...], written: dict[str, Path]) -> None:
    svgs = {name: _save(fig, "svg") for name, fig in study.figures.items()}
    for name, data in svgs.items():
        (out / f"{name}.svg").write_bytes(data)
    (out / "metrics.json").write_bytes(json.dumps(study.metrics, indent=2, default=_json_default).encode())
    written["metrics"] = out / "metrics.json"
    if "html" in formats:
        (out / "index.html").write_bytes(_html(study, svgs, _equation_svgs(study)).encode())
        written["html"] = out / "index.html"
    if "pdf" in formats:
        (out / "report.pdf").write_bytes(_pdf(study, svgs))
        written["pdf"] = out / "report.pdf"


def _equations(study: Study) -> list[Eq]:
    return [b for s in study.sections for kind, b in s.blocks if kind == "eq"]


def _equation_svgs(study: Study) -> list[bytes]:
    """Every equation of the study rendered to SVG by Typst, in reading order (one compile)."""
    eqs = _equations(study)
    if not eqs:
        return []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "eqs.json").write_text(json.dumps([e.math for e in eqs]))
        (root / "eqs.typ").write_text(_EQ_TEMPLATE)
        pages = typst.compile(str(root / "eqs.typ"), root=str(root), format="svg")
    return list(pages) if isinstance(pages, list) else [pages]


def _meta(study: Study) -> str:
    cfg = study.config
    return (
        f"perceptrons {__version__}, seed {cfg.seed}{', quick mode' if cfg.quick else ''}; the whole study ran in "
        f"{study.metrics['total_time_s']:.1f} s. Every number in the text is measured by this run and stored in "
        "metrics.json"
    )


def _html_table(t: Table) -> str:
    h = [f"<table><caption>{html.escape(t.caption)}</caption><tr>"]
    h += [f"<th>{html.escape(x)}</th>" for x in t.heads]
    h.append("</tr>")
    for r in t.rows:
        h.append("<tr>" + "".join(f"<td>{html.escape(x)}</td>" for x in r) + "</tr>")
    h.append("</table>")
    return "".join(h)


def _html(study: Study, svgs: dict[str, bytes], eq_svgs: list[bytes]) -> str:
    numbers = _numbers(study)
    h = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>{html.escape(TITLE)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(TITLE)}</h1>",
        f"<p class='meta'>{html.escape(_meta(study))} under the key shown when you hover it.</p>",
        "<nav><ol>"
        + "".join(f"<li><a href='#{s.key}'>{html.escape(s.title)}</a></li>" for s in study.sections)
        + "</ol></nav>",
    ]
    n_eq = 0
    for s in study.sections:
        h.append(f"<section id='{s.key}'><h2>{html.escape(s.title)}</h2>")
        h.append(f"<p class='setup'>{html.escape(s.setup)}</p>")
        for kind, b in s.blocks:
            if kind == "p":
                h.append(f"<p>{_html_text(b)}</p>")
            elif kind == "eq":
                src = base64.b64encode(eq_svgs[n_eq]).decode()
                n_eq += 1
                h.append(f"<div class='eq'><img alt='{html.escape(b.alt)}' src='data:image/svg+xml;base64,{src}'>"
                         f"<span>({n_eq})</span></div>")  # fmt: skip
            elif kind == "fig":
                caption, alt = study.captions[b]
                src = base64.b64encode(svgs[b]).decode()
                h.append(f"<figure id='fig-{b}'><img alt='{html.escape(alt)}' src='data:image/svg+xml;base64,{src}'>"
                         f"<figcaption><b>Figure {numbers[b]}.</b> {html.escape(caption)}</figcaption></figure>")  # fmt: skip
            elif kind == "table":
                h.append(_html_table(b))
            elif kind == "list":
                h.append("<ul>" + "".join(f"<li>{_html_text(x)}</li>" for x in b) + "</ul>")
        h.append("</section>")
    h.append("</body></html>")
    return "\n".join(h)


def _pdf_content(study: Study, files: dict[str, str]) -> dict[str, Any]:
    sections = []
    for s in study.sections:
        blocks: list[dict[str, Any]] = []
        for kind, b in s.blocks:
            if kind == "p":
                blocks.append({"kind": "p", "text": _plain(b)})
            elif kind == "eq":
                blocks.append({"kind": "eq", "math": b.math})
            elif kind == "fig":
                caption, alt = study.captions[b]
                w_in = study.figures[b].get_size_inches()[0]
                blocks.append({"kind": "fig", "file": files[b], "caption": caption, "alt": alt,
                               "width": float(min(1.0, w_in / 9.0))})  # fmt: skip
            elif kind == "table":
                blocks.append({"kind": "table", "caption": b.caption, "heads": b.heads, "rows": b.rows})
            elif kind == "list":
                blocks.append({"kind": "list", "items": [_plain(x) for x in b]})
        sections.append({"title": s.title, "setup": s.setup, "blocks": blocks})
    return {
        "title": TITLE,
        "subtitle": "Single layer, gradients and their check, hidden units, ReLU against tanh, the learning rate",
        "meta": _meta(study) + " (the HTML report marks each with its key).",
        "seed": str(study.config.seed),
        "sections": sections,
    }


def _pdf(study: Study, svgs: dict[str, bytes]) -> bytes:
    """Typeset the report with Typst: figures as vector SVG, text and tables from the sections."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        files = {}
        for name, data in svgs.items():
            (root / f"{name}.svg").write_bytes(data)
            files[name] = f"{name}.svg"
        (root / "content.json").write_text(json.dumps(_pdf_content(study, files)))
        (root / "report.typ").write_text(_TEMPLATE)
        return bytes(typst.compile(str(root / "report.typ"), root=str(root), format="pdf"))
