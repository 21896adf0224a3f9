"""The data of the course study: its configuration, sections of text, equations and tables, and the
:class:`Study` that holds every measured number (``metrics``) and figure. No experiment here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from matplotlib.figure import Figure

from .core import GradCheckResult

WIDTHS = (2, 5, 10, 15, 20, 50)
SHOWN_WIDTHS = (5, 15, 50)  # the large ReLU-against-tanh figure
REGION_WIDTHS = (5, 15)  # the linear-regions figure
LEARNING_RATES = (0.001, 0.01, 0.1, 1.0, 10.0)
LAST = 10  # "final" accuracy and loss: the mean of the last LAST evaluations (every 10 steps)
RESOLUTION = 400  # grid of the boundary measures and of the boundary figures


@dataclass
class StudyConfig:
    """Hyper-parameters of the study; ``quick`` shortens it for tests (same sections, fewer seeds).
    ``jobs``: joblib workers for the independent trainings (1: in this process; -1: all cores); the
    numbers do not depend on it."""

    seed: int = 0
    quick: bool = False
    jobs: int = 1

    @property
    def n_seeds(self) -> int:
        return 2 if self.quick else 3

    @property
    def moons_steps(self) -> int:
        return 3000 if self.quick else 5000

    @property
    def max_epochs(self) -> int:
        return 200 if self.quick else 400


@dataclass
class Eq:
    """A displayed equation: ``math`` in Typst math syntax, ``alt`` the same in words/plain text."""

    math: str
    alt: str


@dataclass
class Table:
    caption: str
    heads: list[str]
    rows: list[list[str]]


@dataclass
class Section:
    """One section: a title, the set-up, then blocks in reading order: ``("p", text)``,
    ``("eq", Eq)``, ``("fig", figure name)``, ``("table", Table)``, ``("list", [text, ...])``."""

    key: str
    title: str
    setup: str
    blocks: list[tuple[str, Any]] = field(default_factory=list)

    def p(self, text: str) -> None:
        self.blocks.append(("p", text))

    def eq(self, math: str, alt: str) -> None:
        self.blocks.append(("eq", Eq(math, alt)))

    def fig(self, name: str) -> None:
        self.blocks.append(("fig", name))

    def table(self, table: Table) -> None:
        self.blocks.append(("table", table))

    def items(self, texts: list[str]) -> None:
        self.blocks.append(("list", texts))

    @property
    def figures(self) -> list[str]:
        return [b for kind, b in self.blocks if kind == "fig"]


@dataclass
class Study:
    config: StudyConfig
    metrics: dict[str, Any] = field(default_factory=dict)
    figures: dict[str, Figure] = field(default_factory=dict)
    captions: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (caption, alt text)
    sections: list[Section] = field(default_factory=list)
    checks: dict[str, GradCheckResult] = field(default_factory=dict)

    def add_figure(self, name: str, fig: Figure, caption: str, alt: str) -> None:
        """Register a figure with its caption (what to look at) and its alt text (what it shows)."""
        self.figures[name] = fig
        self.captions[name] = (caption, alt)

    def get(self, key: str) -> Any:
        """The metric at dotted ``key``; a numeric part indexes a list (``...values.0``)."""
        value: Any = self.metrics
        for part in key.split("."):
            value = value[int(part)] if isinstance(value, list) else value[part]
        return value

    def q(self, key: str, fmt: str = ".3f") -> str:
        """Quote metric ``key`` (dotted path) formatted with ``fmt``; marked up for the HTML."""
        return f"\x00{key}\x01{format(self.get(key), fmt)}\x02"
