"""Toy data sets for 2-D classification (and two for regression), a stratified split, one-hot coding and CSV loading.

Every generator takes ``n`` (total samples, split as evenly as possible between classes),
``noise`` and ``seed`` (int or ``numpy.random.Generator``) and returns ``X`` of shape (n, D),
float64, and integer labels ``y`` of shape (n,), rows in random order.
"""

from __future__ import annotations

import csv
import io
import itertools
import math
import operator
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .core import memory
from .core.validation import as_generator, check_positive

Array = NDArray[Any]
Seed = int | np.random.Generator | None


def _counts(n: int, k: int) -> list[int]:
    check_positive("n", n, integer=True)
    check_positive("number of classes", k, integer=True)
    if n < k:
        raise ValueError(f"n={n} is too small for {k} classes; pass n >= {k}.")
    return [n // k + (1 if c < n % k else 0) for c in range(k)]


def _finish(parts: list[Array], rng: np.random.Generator) -> tuple[Array, NDArray[np.intp]]:
    X = np.concatenate(parts).astype(np.float64)
    y = np.concatenate([np.full(len(p), c, dtype=np.intp) for c, p in enumerate(parts)])
    order = rng.permutation(len(y))
    return np.ascontiguousarray(X[order]), y[order]


def blobs(
    n: int = 300, k: int = 3, noise: float = 1.0, seed: Seed = None, d: int = 2
) -> tuple[Array, NDArray[np.intp]]:
    """``k`` isotropic Gaussian clusters of standard deviation ``noise`` in ``d`` dimensions.

    In 2-D the centres sit evenly on a circle of radius 5 (a random rotation), so for the default
    noise the classes are linearly separable; in higher dimension they are N(0, 5^2) draws.
    """
    rng = as_generator(seed)
    check_positive("noise", noise, allow_zero=True)
    check_positive("d", d, integer=True)
    counts = _counts(n, k)
    if d == 2:
        angle = rng.uniform(0, 2 * np.pi) + 2 * np.pi * np.arange(k) / k
        centres = 5.0 * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    else:
        centres = 5.0 * rng.standard_normal((k, d))
    return _finish([centres[c] + noise * rng.standard_normal((m, d)) for c, m in enumerate(counts)], rng)


def moons(n: int = 300, noise: float = 0.2, seed: Seed = None) -> tuple[Array, NDArray[np.intp]]:
    """Two interleaving half circles (class 0 on top), plus Gaussian noise of std ``noise``."""
    rng = as_generator(seed)
    check_positive("noise", noise, allow_zero=True)
    a, b = _counts(n, 2)
    t0 = np.linspace(0, np.pi, a)
    t1 = np.linspace(0, np.pi, b)
    upper = np.stack([np.cos(t0), np.sin(t0)], axis=1)
    lower = np.stack([1 - np.cos(t1), 0.5 - np.sin(t1)], axis=1)
    upper += noise * rng.standard_normal(upper.shape)
    lower += noise * rng.standard_normal(lower.shape)
    return _finish([upper, lower], rng)


def circles(n: int = 300, noise: float = 0.1, seed: Seed = None, factor: float = 0.5) -> tuple[Array, NDArray[np.intp]]:
    """A circle of radius 1 (class 0) around one of radius ``factor`` (class 1), plus noise."""
    rng = as_generator(seed)
    check_positive("noise", noise, allow_zero=True)
    if not 0 < factor < 1:
        raise ValueError(f"factor must be in (0, 1), got {factor}.")
    a, b = _counts(n, 2)
    parts = []
    for m, r in ((a, 1.0), (b, factor)):
        t = rng.uniform(0, 2 * np.pi, m)
        parts.append(r * np.stack([np.cos(t), np.sin(t)], axis=1) + noise * rng.standard_normal((m, 2)))
    return _finish(parts, rng)


def xor(n: int = 300, noise: float = 0.1, seed: Seed = None) -> tuple[Array, NDArray[np.intp]]:
    """Points uniform in [-1, 1]^2, class 1 where x0 * x1 < 0 (the XOR pattern), then jittered."""
    rng = as_generator(seed)
    check_positive("noise", noise, allow_zero=True)
    parts = []
    for c, m in enumerate(_counts(n, 2)):
        pts = rng.uniform(0.05, 1.0, (m, 2)) * rng.choice([-1.0, 1.0], size=(m, 1))
        if c == 1:
            pts[:, 1] *= -1
        parts.append(pts + noise * rng.standard_normal((m, 2)))
    return _finish(parts, rng)


def spiral(n: int = 300, k: int = 2, noise: float = 0.1, seed: Seed = None) -> tuple[Array, NDArray[np.intp]]:
    """``k`` interleaved spiral arms of about 1.5 turns, radius growing from 0 to 1."""
    rng = as_generator(seed)
    check_positive("noise", noise, allow_zero=True)
    parts = []
    for c, m in enumerate(_counts(n, k)):
        r = np.linspace(0.05, 1.0, m)
        t = 3 * np.pi * r + 2 * np.pi * c / k
        parts.append(r[:, None] * np.stack([np.cos(t), np.sin(t)], axis=1) + noise * rng.standard_normal((m, 2)))
    return _finish(parts, rng)


def gaussian(n: int = 300, noise: float = 0.5, seed: Seed = None) -> tuple[Array, NDArray[np.intp]]:
    """Two Gaussian clusters centred at (1, 1) and (-1, -1), std ``noise``."""
    rng = as_generator(seed)
    check_positive("noise", noise, allow_zero=True)
    return _finish([c + noise * rng.standard_normal((m, 2)) for c, m in zip((1.0, -1.0), _counts(n, 2))], rng)


def plane(n: int = 300, noise: float = 0.05, seed: Seed = None) -> tuple[Array, Array]:
    """Regression: points uniform in [-1, 1]^2, target ``(x0 + x1) / 2`` plus Gaussian noise (float ``y``)."""
    rng = as_generator(seed)
    check_positive("n", n, integer=True)
    check_positive("noise", noise, allow_zero=True)
    X = rng.uniform(-1.0, 1.0, (n, 2))
    return X, (X[:, 0] + X[:, 1]) / 2 + noise * rng.standard_normal(n)


def bumps(n: int = 300, noise: float = 0.05, seed: Seed = None) -> tuple[Array, Array]:
    """Regression: points uniform in [-1, 1]^2, target a sum of four Gaussian bumps of signs + - + -
    (centres (+-0.5, +-0.5), width 0.35) plus Gaussian noise; not linear, so depth matters."""
    rng = as_generator(seed)
    check_positive("n", n, integer=True)
    check_positive("noise", noise, allow_zero=True)
    X = rng.uniform(-1.0, 1.0, (n, 2))
    y = np.zeros(n)
    for cx, cy, sign in ((0.5, 0.5, 1.0), (-0.5, 0.5, -1.0), (-0.5, -0.5, 1.0), (0.5, -0.5, -1.0)):
        y += sign * np.exp(-((X[:, 0] - cx) ** 2 + (X[:, 1] - cy) ** 2) / (2 * 0.35**2))
    return X, y + noise * rng.standard_normal(n)


DATASETS = {"blobs": blobs, "moons": moons, "circles": circles, "xor": xor, "spiral": spiral, "gaussian": gaussian}
REGRESSION = {"plane": plane, "bumps": bumps}  # float targets, for the identity head


def make(
    name: str, n: int = 300, noise: float | None = None, seed: Seed = None, **kw: Any
) -> tuple[Array, NDArray[np.intp]]:
    """Build a data set by name (``perceptrons.datasets.DATASETS``), with its default noise if None."""
    if name not in DATASETS:
        raise ValueError(f"unknown data set {name!r}; choose one of {sorted(DATASETS)} or load a CSV.")
    if noise is not None:
        kw["noise"] = noise
    check_positive("n", n, integer=True)
    # about 100 bytes a point: two float64 coordinates in the generator's few temporaries, the shuffled copy, y
    memory.check(f"the data set {name!r} of n={n:,} points", 100 * int(n))
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is reported just below, in words
        X, y = DATASETS[name](n=n, seed=seed, **kw)  # type: ignore[operator]
    if not np.isfinite(X).all():
        raise ValueError(
            f"noise={kw.get('noise')!r} is too large for {name!r}: its points overflow to infinity; give a noise "
            "of the data's own scale (about 0.01 to 10)."
        )
    return X, y


def train_test_split(
    X: Any, y: Any, test_size: float = 0.25, seed: Seed = None, stratify: bool = True
) -> tuple[Array, Array, NDArray[Any], NDArray[Any]]:
    """Split into (X_train, X_test, y_train, y_test); stratified by default (class shares kept).

    ``test_size`` is a fraction in (0, 1). Each class contributes ``round(test_size * count)`` test
    samples (at least one training sample is kept per class).
    """
    X = np.asarray(X)
    y = np.asarray(y)
    if X.shape[0] != y.shape[0]:
        raise ValueError(f"X and y have different lengths: {X.shape[0]} and {y.shape[0]}.")
    if not isinstance(test_size, (int, float)) or not 0 < test_size < 1:
        raise ValueError(f"test_size must be a fraction in (0, 1), got {test_size!r}.")
    rng = as_generator(seed)
    n = y.shape[0]
    if stratify:
        test_idx = []
        for c in np.unique(y):
            members = rng.permutation(np.flatnonzero(y == c))
            m = min(int(round(test_size * members.size)), members.size - 1)
            test_idx.append(members[:m])
        test = np.sort(np.concatenate(test_idx))
    else:
        test = np.sort(rng.permutation(n)[: int(round(test_size * n))])
    if test.size == 0 or test.size == n:
        raise ValueError(
            f"test_size={test_size} of {n} samples leaves {'no test' if test.size == 0 else 'no training'} "
            f"sample ({'each class' if stratify else 'the data'} gives round(test_size x its count) to the test set); "
            "use more samples or another test_size."
        )
    mask = np.zeros(n, dtype=bool)
    mask[test] = True
    return X[~mask], X[mask], y[~mask], y[mask]


def one_hot(y: Any, n_classes: int | None = None) -> Array:
    """Integer labels (N,) -> one-hot rows (N, C) of float64."""
    y = np.asarray(y)
    if y.ndim != 1 or y.dtype.kind not in "iu":
        raise ValueError(f"one_hot expects integer labels of shape (N,), got dtype {y.dtype}, shape {y.shape}.")
    c = int(y.max()) + 1 if n_classes is None else n_classes
    if y.size and (y.min() < 0 or y.max() >= c):
        raise ValueError(f"labels must lie in [0, {c}), got values from {y.min()} to {y.max()}.")
    out = np.zeros((y.size, c))
    out[np.arange(y.size), y] = 1.0
    return out


#: the separators a header line is searched for when no delimiter is given
DELIMITERS = (",", ";", "\t", "|")
_CHUNK_CELLS = 1 << 14  # rows are converted to numbers in chunks of about this many cells (a few MB)
_INT_LABEL = re.compile(r"0|-?[1-9][0-9]*")  # one spelling per integer: "01", "+1" or "-0" stay strings


def load_csv(
    path: str | Path,
    label: str | int = -1,
    delimiter: str | None = None,
    progress: Callable[[str, float], None] | None = None,
) -> tuple[Array, NDArray[np.intp], NDArray[Any]]:
    """Read a CSV with a header row, numeric features and one label column of any values.

    Parameters
    ----------
    path : the file (UTF-8; read as a stream by Python's csv parser, so memory grows with the data,
        not with the text: about 8 bytes per number)
    label : the label column, by header name or by index (default: the last column)
    delimiter : the cell separator; default: whichever of ``, ; tab |`` the header line uses most
    progress : called as ``progress(message, fraction_of_file_read)`` while reading

    Returns
    -------
    X : (N, D) float64; y : (N,) integer codes; classes : (C,) the label values, ``classes[y]``
    recovers them, sorted. Labels are kept exactly as written: int64 when every label is an
    integer written plainly (``-3``, ``42``; not ``01``, ``1.0`` or ``1e3``), strings otherwise;
    two labels written differently are never merged.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"CSV file {str(path)!r} does not exist or is not a regular file.")
    size = max(path.stat().st_size, 1)
    try:
        with open(path, "rb") as raw, io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as fh:

            def report() -> None:  # the bytes taken from the file so far: exact to a buffer, nothing per line
                if progress is not None:
                    progress("reading the CSV", min(raw.tell() / size, 1.0))

            X, y, classes = _parse(fh, label, delimiter, str(path), report)
            if progress is not None:
                progress("reading the CSV", 1.0)
            return X, y, classes
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not a UTF-8 text file; save the data as CSV (UTF-8) first.") from None


def parse_csv(
    text: str, label: str | int = -1, name: str = "CSV", delimiter: str | None = None
) -> tuple[Array, NDArray[np.intp], NDArray[Any]]:
    """:func:`load_csv` for text already in memory (the playground's uploads); ``name`` is used in errors."""
    return _parse(io.StringIO(text.removeprefix("\ufeff"), newline=""), label, delimiter, name)


def _sniff(header_line: str, name: str) -> str:
    """The separator that splits the header into most cells, read by the CSV parser (a quoted "a,b" is one cell)."""
    counts = {d: len(next(csv.reader([header_line], delimiter=d), [])) - 1 for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    if counts[best] <= 0:
        raise ValueError(
            f"{name}: the header line {header_line.strip()[:80]!r} has a single column; expected feature "
            "columns and a label column separated by commas (or give --delimiter / delimiter=)."
        )
    return best


def _parse(
    lines: Iterable[str],
    label: str | int,
    delimiter: str | None,
    name: str,
    report: Callable[[], None] | None = None,
) -> tuple[Array, NDArray[np.intp], NDArray[Any]]:
    """Python's csv parser reads the rows, a chunk at a time (``islice``: no Python code per row); each chunk
    is converted column by column in C loops. Line numbers, blank rows and bad cells are worked out only for
    a chunk that has one (see :func:`_convert`)."""
    it = iter(lines)
    skipped = 0  # blank lines before the header, for the line numbers of errors
    for first in it:
        if first.strip():
            break
        skipped += 1
    else:
        first = ""
    if not first:
        raise ValueError(f"{name}: the file is empty; expected a header row and at least one data row.")
    if delimiter is not None and (not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter in "\r\n\"'"):
        raise ValueError(
            f"delimiter must be one character (not a quote or newline), such as ',' or ';', got {delimiter!r:.40}."
        )
    sep = delimiter or _sniff(first, name)
    # strict: a quote that is never closed is an error at the end of the file, not a cell that swallows the rest
    reader = csv.reader(itertools.chain([first], it), delimiter=sep, strict=True)
    try:
        header = [h.strip() for h in next(reader)]
        width = len(header)
        if width < 2:
            hint = next((d for d in DELIMITERS if d != sep and d in first), None)
            extra = (
                f"; this file looks {_NAMES[hint]}-separated; use --delimiter {hint!r} (delimiter= in Python)"
                if hint
                else ""
            )
            raise ValueError(f"{name}: expected at least two columns (features and a label), the header has 1{extra}.")
        table = _Table(header, _label_index(header, label, name), sep, name)
        per_chunk = max(1, _CHUNK_CELLS // width)
        while True:
            first_line = reader.line_num + skipped + 1  # the line the chunk's first row starts on
            chunk = list(itertools.islice(reader, per_chunk))
            if not chunk:
                break
            table.add(chunk, first_line)
            if report is not None:
                report()
    except csv.Error as exc:
        if "unexpected end of data" in str(exc):
            raise ValueError(
                f'{name}: the file ends inside a quoted cell: a " is never closed, so every line after it '
                "would be one cell; close the quote or remove it."
            ) from None
        hint = "; a quote that is never closed, or not a CSV file?" if "field larger" in str(exc) else ""
        raise ValueError(f"{name}, line {reader.line_num + skipped}: not a readable CSV file ({exc}{hint}).") from None
    return table.result()


_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}


def _label_index(header: list[str], label: str | int, name: str) -> int:
    width = len(header)
    if isinstance(label, str):
        if label not in header:
            raise ValueError(f"{name}: no column named {label!r}; the header has {header[:20]}.")
        if header.count(label) > 1:
            raise ValueError(
                f"{name}: {header.count(label)} columns are named {label!r}; rename one, or give the label "
                "column by its index."
            )
        index = header.index(label)
    elif isinstance(label, bool) or not isinstance(label, (int, np.integer)):
        raise ValueError(f"label must be a column name (str) or a column index (int), got {label!r:.40}.")
    elif not -width <= label < width:
        raise ValueError(f"{name}: label column index {label!r} is out of range for {width} columns.")
    else:
        index = int(label) % width
    if not header[index]:
        raise ValueError(
            f"{name}: the label column (column {index + 1}) has no name in the header; a trailing "
            f"delimiter in the header line? Remove it, or name the column."
        )
    return index


class _Table:
    """The rows read so far: float blocks of X and label codes in order of first appearance (8 bytes a row,
    whatever the labels' length)."""

    def __init__(self, header: list[str], li: int, sep: str, name: str) -> None:
        self.header, self.li, self.sep, self.name = header, li, sep, name
        self.feats = [j for j in range(len(header)) if j != li]
        self.X_parts: list[Array] = []
        self.label_parts: list[NDArray[np.intp]] = []
        self.seen: dict[str, int] = {}  # label -> code of first appearance

    def add(self, rows: list[list[str]], first_line: int) -> None:
        """Convert one chunk. The fast path has no Python code per cell or row; any irregularity (a blank or
        ragged row, a cell that is not a finite number, a missing label) sends the chunk to the careful path,
        which drops blank rows and names the line of the first bad cell."""
        fast = self._convert(rows) if set(map(len, rows)) == {len(self.header)} else None
        if fast is None:
            kept, lines_of = _rows_and_lines(rows, first_line)
            if not kept:
                return
            self._check(kept, lines_of)
            fast = self._convert(kept)
            if fast is None:  # _check raises for everything _convert refuses
                raise RuntimeError(f"{self.name}: rows from line {first_line} could not be converted.")
        X, labels = fast
        distinct, inverse = np.unique(labels, return_inverse=True)
        nul = next((v for v in distinct.tolist() if "\x00" in v), None)
        if nul is not None:  # NumPy's strings drop trailing NULs: 'a' and 'a\0' would become one name for two classes
            raise ValueError(f"{self.name}: the label {nul[:40]!r} holds a NUL character; remove it from the file.")
        codes = np.array([self.seen.setdefault(v.strip(), len(self.seen)) for v in distinct.tolist()], dtype=np.intp)
        self.X_parts.append(X)
        self.label_parts.append(codes[inverse.reshape(-1)])

    def _convert(self, rows: list[list[str]]) -> tuple[Array, NDArray[Any]] | None:
        """(X block, raw labels) of well-formed rows, or None if a cell is not a finite number or a label is blank."""
        X = np.empty((len(rows), len(self.feats)))
        try:
            for c, j in enumerate(self.feats):
                X[:, c] = np.fromiter(map(float, map(operator.itemgetter(j), rows)), np.float64, len(rows))
        except ValueError:
            return None
        if not np.isfinite(X).all():
            return None
        labels = np.array(list(map(operator.itemgetter(self.li), rows)), dtype=object)
        if not all(map(str.strip, labels.tolist())):
            return None
        return X, labels

    def _check(self, rows: list[list[str]], lines_of: list[int]) -> None:
        """Raise the error of the first bad row (its line, column and cell)."""
        name, header, width = self.name, self.header, len(self.header)
        for k, r in enumerate(rows):
            if len(r) != width:
                raise ValueError(
                    f"{name}, line {lines_of[k]}: expected {width} cells like the header, found {len(r)} (a ragged row)."
                )
        for j in self.feats:
            _bad_cell(rows, lines_of, header, j, self.sep, name)
        for k, r in enumerate(rows):
            if not r[self.li].strip():
                raise ValueError(
                    f"{name}, line {lines_of[k]}, column {self.li + 1} ({header[self.li]!r}): the label is missing."
                )

    def result(self) -> tuple[Array, NDArray[np.intp], NDArray[Any]]:
        if not self.X_parts:
            raise ValueError(f"{self.name}: expected a header row and at least one data row, found only the header.")
        X = np.concatenate(self.X_parts)
        classes, y = _classes(list(self.seen), np.concatenate(self.label_parts))
        return X, y, classes


def _rows_and_lines(rows: list[list[str]], first_line: int) -> tuple[list[list[str]], list[int]]:
    """The rows that hold something and the line each starts on: a row spans one line plus each line break
    inside its quoted cells (\\r\\n counted once, as the file's lines are split)."""
    kept, lines_of, line = [], [], first_line
    for r in rows:
        if any(cell.strip() for cell in r):
            kept.append(r)
            lines_of.append(line)
        line += 1 + sum(len(re.findall(r"\r\n|\r|\n", cell)) for cell in r)
    return kept, lines_of


def _bad_cell(rows: list[list[str]], lines_of: list[int], header: list[str], j: int, sep: str, name: str) -> None:
    """Raise for the first cell of column ``j`` that is not a finite number."""
    for k, r in enumerate(rows):
        cell = r[j].strip()
        try:
            value = float(cell)
        except ValueError:
            hint = " (a decimal comma? write decimals with a point)" if "," in cell else ""
            raise ValueError(
                f"{name}, line {lines_of[k]}, column {j + 1} ({header[j]!r}): expected a number, "
                f"found {cell[:40] or '<empty>'!r}{hint}."
            ) from None
        if not math.isfinite(value):
            raise ValueError(
                f"{name}, line {lines_of[k]}, column {j + 1} ({header[j]!r}): expected a finite number, "
                f"found {cell[:40]!r}."
            )


def _classes(seen: list[str], first_codes: NDArray[np.intp]) -> tuple[NDArray[Any], NDArray[np.intp]]:
    """Sorted distinct labels (``seen`` in order of appearance) and each row's code in them.

    Integers only when that keeps every label exactly (one spelling per integer, within int64).
    """
    values: NDArray[Any] = np.array(seen, dtype=str)
    if all(len(v) <= 20 and _INT_LABEL.fullmatch(v) and -(2**63) <= int(v) < 2**63 for v in seen):
        values = np.array([int(v) for v in seen], dtype=np.int64)
    order = np.argsort(values, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    return values[order], rank[first_codes].astype(np.intp)
