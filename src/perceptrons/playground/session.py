"""One playground session (one browser tab): its configuration, data, network and frames.

Everything here is the library itself: the data sets, :class:`~perceptrons.MLP`,
:func:`~perceptrons.train`, :func:`~perceptrons.core.loss_and_grads` and :func:`~perceptrons.gradcheck`;
the server only moves messages. A configuration is validated against hard limits so that no request
can exhaust the machine.

A run is its configuration plus its *schedule*: the changes made while it trained (a new learning
rate, an edited weight), each tagged with the epoch it was made at. Replaying the schedule (reset,
a shared link, the generated Python code) gives the same weights bit for bit.
"""

from __future__ import annotations

import base64
import functools
import math
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from threadpoolctl import ThreadpoolController

from ..core import MLP, SGD, Adam, forward, gradcheck, loss_and_grads, train
from ..core.activations import ACTIVATIONS
from ..core.heads import HEADS, softmax
from ..datasets import DATASETS, REGRESSION, parse_csv, train_test_split

LIMITS = {
    "points": 2000,
    "layers": 6,
    "units": 64,
    "classes": 5,
    "batch": 2000,
    "csv_bytes": 1_000_000,
    "seed": 2**31 - 1,
    "coordinate": 1e6,  # |x|, |y| of a clicked point: the picture's window must stay finite
    "schedule": 500,
    "epoch": 1_000_000,  # a shared link opens at this epoch at most (the server replays the run to it)
}
CLASSIFICATION_SETS = ("circles", "moons", "xor", "spiral", "gaussian", "blobs", "csv", "custom")
REGRESSION_SETS = tuple(REGRESSION)
DATASET_NAMES = CLASSIFICATION_SETS + REGRESSION_SETS
# Per data set: the noise slider's (max, step, default) and the class count's default. Each range is
# scaled to the data (the spiral's arms are 0.1 apart, the blobs' centres 5 apart): at the maximum the
# task is hard but still shows its shape.
CATALOG: dict[str, dict[str, Any]] = {
    "circles": {"noise": (0.3, 0.01, 0.1), "problem": "classification"},
    "moons": {"noise": (0.4, 0.01, 0.1), "problem": "classification"},
    "xor": {"noise": (0.3, 0.01, 0.05), "problem": "classification"},
    "spiral": {"noise": (0.1, 0.005, 0.02), "classes": 2, "problem": "classification"},
    "gaussian": {"noise": (1.5, 0.05, 0.5), "problem": "classification"},
    "blobs": {"noise": (3.0, 0.1, 1.0), "classes": 3, "problem": "classification"},
    "plane": {"noise": (0.5, 0.01, 0.05), "problem": "regression"},
    "bumps": {"noise": (0.5, 0.01, 0.05), "problem": "regression"},
}
# Input features: name -> (the numpy expression the Python code prints, the same computation).
FEATURES: dict[str, tuple[str, Callable[[np.ndarray], np.ndarray]]] = {
    "x1": ("X[:, 0]", lambda X: X[:, 0]),
    "x2": ("X[:, 1]", lambda X: X[:, 1]),
    "x1^2": ("X[:, 0] ** 2", lambda X: X[:, 0] ** 2),
    "x2^2": ("X[:, 1] ** 2", lambda X: X[:, 1] ** 2),
    "x1*x2": ("X[:, 0] * X[:, 1]", lambda X: X[:, 0] * X[:, 1]),
    "sin(x1)": ("np.sin(X[:, 0])", lambda X: np.sin(X[:, 0])),
    "sin(x2)": ("np.sin(X[:, 1])", lambda X: np.sin(X[:, 1])),
}
DEFAULTS: dict[str, Any] = {
    "dataset": "circles",
    "noise": 0.1,
    "n": 500,
    "classes": 2,
    "test_ratio": 0.5,
    "features": ["x1", "x2"],
    "layers": [8, 8],
    "activation": "tanh",
    "optimizer": "sgd",
    "lr": 0.1,
    "batch": 10,
    "reg": "none",
    "reg_rate": 0.0,
    "data_seed": 1,
    "init_seed": 1,
    "order_seed": 1,
    "schedule": [],
    "epoch": 0,  # the epoch the run opens at: a shared link replays the run up to where it was copied
}
EXTRA_KEYS = {"csv", "points", "label", "window"}
HISTORY_POINTS = 1000  # the loss history sent after a replay: at most this many epochs, evenly spaced
HEAT_RES = 64  # the heat map grid (HEAT_RES^2 points, one batched forward pass)
NEURON_RES = 24  # the per-neuron output and gradient maps
SMALL_HEAT_RES = 48  # ... and heat map grid
SMALL_NEURON_RES = 12  # ... for networks of more than LARGE_NET hidden units (each map is drawn a few pixels wide)
LARGE_NET = 96
GRADCHECK_POINTS = 16
# Central differences cost two loss evaluations per parameter: up to GRADCHECK_FULL parameters every
# entry is checked; a larger network (6 x 64 has 21,000) checks about GRADCHECK_SAMPLE entries drawn
# afresh each time (every array in proportion to its size, at least 4 of each): ~5 ms for 6 x 64.
GRADCHECK_FULL = 3000
GRADCHECK_SAMPLE = 150
STUCK_EPOCHS = 100
# A layer with more weights than this sends only the MAX_WIRES largest by |w| and the MAX_WIRES largest
# by |dLoss/dW| (the page draws the strongest of one kind, and shows values of drawn wires only): 6 x 64
# frames shrink from 337 kB to 179 kB.
MAX_WIRES = 400
GRAD_RES = 8  # the gradient maps: mean backpropagated signal of the training points in each cell
MIN_SPLIT = 10  # drawn data sets smaller than this are not split: every point trains
SLICE_S = 0.005  # an epoch is trained in slices of about this long, so that workers take turns between sessions


@functools.cache
def _blas() -> ThreadpoolController:
    return ThreadpoolController()


def _one_blas_thread() -> Any:
    return _blas().limit(limits=1, user_api="blas")


class ConfigError(ValueError):
    """A configuration the playground refuses; the message says what was expected."""


def _shown(v: float) -> str:
    """A number for an error message: an integer too long to print (past 4,300 digits Python refuses) by its size."""
    if isinstance(v, float) or abs(v) < 10**15:
        return f"{v:.6g}"
    return f"an integer of about {int(abs(v).bit_length() * 0.30103) + 1} digits"


def _num(cfg: dict[str, Any], key: str, lo: float, hi: float, integer: bool = False) -> Any:
    v = cfg[key]
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ConfigError(f"{key} must be {'an integer' if integer else 'a number'} in [{lo}, {hi}], got {v!r:.80}.")
    if not (isinstance(v, int) or math.isfinite(v)) or not lo <= v <= hi:  # int against float: exact, no overflow
        raise ConfigError(f"{key} must be in [{lo}, {hi}], got {_shown(v)}.")
    if integer and isinstance(v, float) and not v.is_integer():
        raise ConfigError(f"{key} must be an integer in [{lo}, {hi}], got {_shown(v)}.")
    return int(v) if integer else float(v)


def _check_schedule(cfg: dict[str, Any]) -> list[dict[str, Any]]:
    """Each change ``{"epoch": e, "lr": v}`` or ``{"epoch": e, "weight": [layer, i, j], "value": v}``,
    epochs non-decreasing; weights index the configured network."""
    sched = cfg["schedule"]
    if not isinstance(sched, list) or len(sched) > LIMITS["schedule"]:
        raise ConfigError(f"schedule must be a list of at most {LIMITS['schedule']} changes, got {sched!r:.80}.")
    sizes = [len(cfg["features"]), *cfg["layers"], 1]  # the last layer's width is checked in Session
    out: list[dict[str, Any]] = []
    last = 0
    for ev in sched:
        if not isinstance(ev, dict) or set(ev) not in ({"epoch", "lr"}, {"epoch", "weight", "value"}):
            raise ConfigError(
                f'each schedule entry is {{"epoch", "lr"}} or {{"epoch", "weight", "value"}}, got {ev!r}.'
            )
        epoch = _num(ev, "epoch", last, 10**7, integer=True)
        last = epoch
        if "lr" in ev:
            out.append({"epoch": epoch, "lr": _num(ev, "lr", 1e-6, 10.0)})
            continue
        w = ev["weight"]
        ok = isinstance(w, list) and len(w) == 3 and all(isinstance(v, int) and not isinstance(v, bool) for v in w)
        if not ok or not 0 <= w[0] < len(sizes) - 1 or not 0 <= w[1] < sizes[w[0]] or w[2] < 0:
            raise ConfigError(f"schedule weight must be [layer, i, j] inside the network, got {w!r}.")
        out.append({"epoch": epoch, "weight": list(w), "value": _num(ev, "value", -100.0, 100.0)})
    return out


def validate_config(raw: Any) -> dict[str, Any]:
    """Defaults filled in, every value checked against the limits; raises ConfigError."""
    if not isinstance(raw, dict):
        raise ConfigError(f"config must be an object, got {type(raw).__name__}.")
    unknown = set(raw) - set(DEFAULTS) - EXTRA_KEYS
    if unknown:
        raise ConfigError(f"unknown config keys {sorted(unknown)}; known: {sorted(DEFAULTS)}.")
    cfg = {**DEFAULTS, **raw}
    if cfg["dataset"] not in DATASET_NAMES:
        raise ConfigError(f"dataset must be one of {list(DATASET_NAMES)}, got {cfg['dataset']!r}.")
    cfg["noise"] = _num(cfg, "noise", 0.0, 3.0)
    cfg["n"] = _num(cfg, "n", 10, LIMITS["points"], integer=True)
    cfg["classes"] = _num(cfg, "classes", 2, LIMITS["classes"], integer=True)
    cfg["test_ratio"] = _num(cfg, "test_ratio", 0.1, 0.9)
    feats = cfg["features"]
    if (
        not isinstance(feats, list)
        or not feats
        or any(not isinstance(f, str) or f not in FEATURES for f in feats)
        or len(set(feats)) < len(feats)
    ):
        raise ConfigError(f"features must be a non-empty list of distinct names from {list(FEATURES)}, got {feats!r}.")
    cfg["features"] = [f for f in FEATURES if f in feats]  # one canonical order: the same run, the same link
    layers = cfg["layers"]
    if not isinstance(layers, list) or len(layers) > LIMITS["layers"]:
        raise ConfigError(f"layers must be a list of at most {LIMITS['layers']} unit counts, got {layers!r}.")
    for u in layers:
        if isinstance(u, bool) or not isinstance(u, int) or not 1 <= u <= LIMITS["units"]:
            raise ConfigError(f"each layer needs 1 to {LIMITS['units']} units, got {u!r}.")
    if cfg["activation"] not in ACTIVATIONS:
        raise ConfigError(f"activation must be one of {list(ACTIVATIONS)}, got {cfg['activation']!r}.")
    if cfg["optimizer"] not in ("sgd", "adam", "momentum"):
        raise ConfigError(f"optimizer must be sgd, momentum or adam, got {cfg['optimizer']!r}.")
    cfg["lr"] = _num(cfg, "lr", 1e-6, 10.0)
    cfg["batch"] = _num(cfg, "batch", 1, LIMITS["batch"], integer=True)
    if cfg["reg"] not in ("none", "l1", "l2"):
        raise ConfigError(f"reg must be none, l1 or l2, got {cfg['reg']!r}.")
    cfg["reg_rate"] = _num(cfg, "reg_rate", 0.0, 1.0)
    for key in ("data_seed", "init_seed", "order_seed"):
        cfg[key] = _num(cfg, key, 0, LIMITS["seed"], integer=True)
    cfg["schedule"] = _check_schedule(cfg)
    cfg["epoch"] = _num(cfg, "epoch", 0, LIMITS["epoch"], integer=True)
    if cfg.get("window") is not None:
        w = cfg["window"]
        ok = isinstance(w, list) and len(w) == 4 and all(isinstance(v, (int, float)) and math.isfinite(v) for v in w)
        if not ok or not (w[0] < w[1] and w[2] < w[3]) or max(abs(v) for v in w) > 1e6:
            raise ConfigError(f"window must be [x_min, x_max, y_min, y_max] with min < max, got {w!r}.")
        cfg["window"] = [float(v) for v in w]
    if cfg["dataset"] == "csv":
        text = cfg.get("csv")
        if not isinstance(text, str) or not text.strip():
            raise ConfigError("dataset 'csv' needs the file's text in 'csv'.")
        try:
            nbytes = len(text.encode())
        except UnicodeEncodeError as exc:  # a lone UTF-16 surrogate, which no UTF-8 file holds
            raise ConfigError(
                f"the CSV text holds an invalid character ({text[exc.start]!r}, a lone surrogate) at position "
                f"{exc.start}; send UTF-8 text."
            ) from None
        if nbytes > LIMITS["csv_bytes"]:
            raise ConfigError(f"the CSV is larger than {LIMITS['csv_bytes']} bytes; use a smaller file.")
    if cfg["dataset"] == "custom":
        pts = cfg.get("points")
        if not isinstance(pts, list) or not 2 <= len(pts) <= LIMITS["points"]:
            raise ConfigError(f"dataset 'custom' needs 2 to {LIMITS['points']} points [x, y, class].")
        for p in pts:
            ok = isinstance(p, list) and len(p) == 3 and not any(isinstance(v, bool) for v in p)
            ok = ok and all(isinstance(v, (int, float)) and math.isfinite(v) for v in p)
            if not ok or not all(abs(v) <= LIMITS["coordinate"] for v in p[:2]):
                raise ConfigError(
                    f"each point must be [x, y, class] with |x|, |y| <= {LIMITS['coordinate']:g}, got {str(p)[:60]}."
                )
            if p[2] != int(p[2]) or not 0 <= p[2] < LIMITS["classes"]:
                raise ConfigError(f"a point's class must be an integer 0..{LIMITS['classes'] - 1}, got {p[2]!r}.")
    label = cfg.get("label", -1)
    if isinstance(label, bool) or not isinstance(label, (str, int)) or isinstance(label, str) and len(label) > 200:
        raise ConfigError(f"label must be a CSV column name or index, got {str(label)[:60]}.")
    return cfg


def is_regression(cfg: dict[str, Any]) -> bool:
    return cfg["dataset"] in REGRESSION


def make_data(cfg: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """The raw 2-D points and their targets: class labels (kept as given: drawing classes 0 and 2
    keeps 0 and 2, and their colours) or, for regression, float values."""
    name = cfg["dataset"]
    if name == "csv":
        X, y, _ = parse_csv(cfg["csv"], cfg.get("label", -1), name="uploaded CSV")
        if X.shape[1] != 2:
            raise ConfigError(f"the playground draws 2 features; the CSV has {X.shape[1]}. Keep two feature columns.")
        far = np.flatnonzero(np.abs(X).max(axis=1) > LIMITS["coordinate"])
        if far.size:  # as for clicked points: the picture's window must stay finite
            raise ConfigError(
                f"the CSV's values must be within +-{LIMITS['coordinate']:g}; its data row {far[0] + 1} holds "
                f"{X[far[0]].tolist()}. Rescale the data."
            )
        if len(y) > LIMITS["points"]:
            raise ConfigError(f"the CSV has {len(y)} rows; the playground takes at most {LIMITS['points']}.")
        if y.max() + 1 > LIMITS["classes"]:
            raise ConfigError(f"the CSV has {y.max() + 1} classes; the playground takes at most {LIMITS['classes']}.")
        return X, y
    if name == "custom":
        pts = np.asarray(cfg["points"], dtype=float)
        return pts[:, :2].copy(), pts[:, 2].astype(np.intp)
    if name in REGRESSION:
        return REGRESSION[name](n=cfg["n"], noise=cfg["noise"], seed=cfg["data_seed"])
    kw: dict[str, Any] = {"k": cfg["classes"]} if name in ("blobs", "spiral") else {}
    return DATASETS[name](n=cfg["n"], noise=cfg["noise"], seed=cfg["data_seed"], **kw)  # type: ignore[operator]


def features(X: np.ndarray, names: list[str]) -> np.ndarray:
    """The network's inputs (N, len(names)) from the raw points X (N, 2)."""
    return np.column_stack([FEATURES[f][1](X) for f in names])


def chance_loss(y: np.ndarray, regression: bool, n_outputs: int) -> float:
    """The loss of the best constant prediction: the label entropy (softmax), or var(y) / 2 (identity)."""
    if regression:
        return float(np.var(y) / 2)
    p = np.bincount(y, minlength=n_outputs) / len(y)
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def loss_warning(losses: list[float], chance: float, best: float | None = None) -> str | None:
    """Why the training loss curve (one value per epoch) looks wrong now, or None.

    ``losses`` needs only the last STUCK_EPOCHS epochs, with ``best`` the lowest loss of the whole
    run (by default, of ``losses``): a frame's check then costs the same at epoch 10 and 100,000.

    Rising: the last loss is above both twice the best so far and the chance level. Oscillating:
    over the last 12 epochs the loss turned direction at least 7 times, swinging by more than a
    quarter of the chance level (the jitter of SGD near a minimum is far smaller). Stuck: for the
    last STUCK_EPOCHS epochs the loss stayed at 99 % of chance or above (dead or saturated units,
    or a learning rate too small to move).
    """
    finite = [v for v in losses if math.isfinite(v)]
    if len(finite) < 3:
        return None
    last, best = finite[-1], min(finite) if best is None else min(best, *finite)
    if last > 2 * best and last > chance:
        return f"The loss is rising (now {last:.3g}, best {best:.3g}): lower the learning rate."
    tail = np.array(finite[-12:])
    if tail.size == 12:
        turns = int(np.sum(np.diff(np.sign(np.diff(tail))) != 0))
        if turns >= 7 and tail.max() - tail.min() > 0.25 * chance:
            return (
                f"The loss oscillates between {tail.min():.3g} and {tail.max():.3g}: "
                "lower the learning rate or raise the batch size."
            )
    if len(finite) >= STUCK_EPOCHS and min(finite[-STUCK_EPOCHS:]) >= 0.99 * chance:
        return (
            f"The loss is stuck at chance ({last:.3g}, chance {chance:.3g}) for {STUCK_EPOCHS} epochs: "
            "try another learning rate, activation or initial seed."
        )
    return None


def _b64(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a).tobytes()).decode()


def _f32(a: np.ndarray) -> np.ndarray:
    """float32 for the page: NaN as 0 and huge values (a diverging run) clipped to float32's range."""
    with np.errstate(over="ignore", invalid="ignore"):  # out of float32's range: handled below
        out = a.astype(np.float32)
    if np.isfinite(out).all():  # the usual case, without the three passes below
        return out
    big = float(np.finfo(np.float32).max)
    return np.clip(np.nan_to_num(a, nan=0.0, posinf=big, neginf=-big), -big, big).astype(np.float32)


def _strongest(w: np.ndarray, g: np.ndarray) -> np.ndarray | None:
    """The flat indices (int32, sorted) of the MAX_WIRES largest |w| and of the MAX_WIRES largest |g|,
    or None when the layer has at most MAX_WIRES weights (all are sent)."""
    if w.size <= MAX_WIRES:
        return None
    top_w = np.argpartition(np.abs(w), w.size - MAX_WIRES)[-MAX_WIRES:]
    top_g = np.argpartition(np.abs(g), g.size - MAX_WIRES)[-MAX_WIRES:]
    return np.union1d(top_w, top_g).astype(np.int32)


def _int8_map(values: np.ndarray) -> dict[str, Any]:
    """(units, cells) values as int8 over their largest magnitude, with that scale."""
    scale = float(np.abs(values).max()) if values.size else 0.0
    if not math.isfinite(scale):  # NaN or inf somewhere (a diverging run): drawn as 0, scaled by the rest
        values = np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0)
        scale = float(np.abs(values).max())
    scale = scale if scale > 0 else 1.0
    return {"scale": scale, "data": _b64(np.round(values / scale * 127).astype(np.int8))}


class Session:
    """Data, network and optimiser for one configuration; :meth:`epoch` trains, :meth:`frame` draws."""

    def __init__(self, raw_config: Any) -> None:
        cfg = validate_config(raw_config)
        self.regression = is_regression(cfg)
        X, y = make_data(cfg)
        if not self.regression and np.unique(y).size < 2:
            raise ConfigError("the data has a single class; add points of another class.")
        if cfg["dataset"] == "custom" and len(y) < MIN_SPLIT:  # a few drawn points all train, all shown
            Xtr, Xte, ytr, yte = X, X[:0], y, y[:0]
        else:
            Xtr, Xte, ytr, yte = train_test_split(
                X, y, test_size=cfg["test_ratio"], seed=cfg["data_seed"], stratify=not self.regression
            )
        self.config = cfg
        self.Xtr_raw, self.Xte_raw, self.ytr, self.yte = Xtr, Xte, ytr, yte
        self.Xtr, self.Xte = features(Xtr, cfg["features"]), features(Xte, cfg["features"])
        # targets as the head reads them: labels for softmax, (N, 1) values for the identity head
        self.ttr, self.tte = (ytr[:, None], yte[:, None]) if self.regression else (ytr, yte)
        self.n_outputs = 1 if self.regression else int(y.max()) + 1
        self.chance = chance_loss(ytr, self.regression, self.n_outputs)
        self.window = cfg.get("window") or self._fit_window(X)
        sizes = [len(cfg["features"]), *cfg["layers"], self.n_outputs]
        output = "identity" if self.regression else "softmax"
        self.net = MLP(sizes, activation=cfg["activation"], output=output, seed=cfg["init_seed"])
        for ev in cfg["schedule"]:
            if "weight" in ev and ev["weight"][2] >= sizes[ev["weight"][0] + 1]:
                raise ConfigError(f"schedule weight {ev['weight']} is outside the network {sizes}.")
        self.order = np.random.default_rng(cfg["order_seed"])
        # which entries a sampled gradient check differences: its own stream, so checking never moves training
        self.check_rng = np.random.default_rng([cfg["init_seed"], 15])
        self.opt: SGD | Adam = (
            Adam(cfg["lr"])
            if cfg["optimizer"] == "adam"
            else SGD(cfg["lr"], 0.9 if cfg["optimizer"] == "momentum" else 0.0)
        )
        self.steps = 0
        self.epochs = 0
        self._epoch_perm: np.ndarray | None = None  # the current epoch's sample order, while it is in slices
        self._epoch_pos = 0  # batches of it done
        self._slice_steps = 1  # batches in the next slice (adapted to SLICE_S)
        self.diverged: str | None = None
        self.warning: str | None = None
        self.curve: dict[str, list[float]] = {"train_loss": [], "test_loss": [], "train_acc": [], "test_acc": []}
        self.best_loss = math.inf  # the lowest training loss of the run (the curve's minimum)
        small = sum(cfg["layers"]) <= LARGE_NET
        self.neuron_res = NEURON_RES if small else SMALL_NEURON_RES
        self.heat_res = HEAT_RES if small else SMALL_HEAT_RES
        self._grids()
        self._apply_schedule()

    @staticmethod
    def _fit_window(X: np.ndarray) -> list[float]:
        lo, hi = X.min(axis=0), X.max(axis=0)
        pad = 0.15 * np.maximum(hi - lo, 1e-6)
        return [float(lo[0] - pad[0]), float(hi[0] + pad[0]), float(lo[1] - pad[1]), float(hi[1] + pad[1])]

    def _grids(self) -> None:
        x0, x1, y0, y1 = self.window
        gx, gy = np.meshgrid(np.linspace(x0, x1, self.heat_res), np.linspace(y1, y0, self.heat_res))  # row 0 = top
        grid = features(np.column_stack([gx.ravel(), gy.ravel()]), self.config["features"])
        self.heat_pts = grid.astype(np.float32)  # the pictures are computed in float32 (see _frame)
        gx, gy = np.meshgrid(np.linspace(x0, x1, self.neuron_res), np.linspace(y1, y0, self.neuron_res))
        grid = features(np.column_stack([gx.ravel(), gy.ravel()]), self.config["features"])
        self.neuron_pts = grid.astype(np.float32)
        # the gradient-map cell of each training point (row 0 = top)
        R = GRAD_RES
        cx = np.clip(np.floor((self.Xtr_raw[:, 0] - x0) / (x1 - x0) * R), 0, R - 1)
        cy = np.clip(np.floor((y1 - self.Xtr_raw[:, 1]) / (y1 - y0) * R), 0, R - 1)
        cells = (cy * R + cx).astype(np.intp)
        counts = np.bincount(cells, minlength=R**2)
        # (cells, N): row c averages the training points in cell c, so one product maps every unit
        self.cell_mean = np.zeros((R**2, len(cells)))
        self.cell_mean[cells, np.arange(len(cells))] = 1.0 / counts[cells]

    # -- changes while training: recorded in the schedule ---------------------------------------
    def _apply(self, ev: dict[str, Any]) -> None:
        if "lr" in ev:
            self.opt.lr = ev["lr"]
        else:
            layer, i, j = ev["weight"]
            self.net.params[f"W{layer}"][i, j] = ev["value"]

    def _apply_schedule(self) -> None:
        for ev in self.config["schedule"]:
            if ev["epoch"] == self.epochs:
                self._apply(ev)

    def _record(self, ev: dict[str, Any]) -> None:
        """Apply a change made now, and rewrite the schedule's future: changes recorded after this
        epoch (a reset run being replayed) are dropped, since the run now differs from there."""
        if self._epoch_perm is not None:  # a change is recorded at an epoch's boundary, where a replay applies it
            raise ConfigError("an epoch is being trained; change the run once it is complete.")
        sched = [e for e in self.config["schedule"] if e["epoch"] <= self.epochs]
        if len(sched) >= LIMITS["schedule"]:
            raise ConfigError(f"this run already has {LIMITS['schedule']} recorded changes; reset it to change more.")
        if "lr" in ev and self.epochs == 0:  # before training, a new rate is the run's rate
            self.config["lr"] = ev["lr"]
            sched = [e for e in sched if "lr" not in e]
        else:
            sched.append(ev)
        self.config["schedule"] = sched
        self._apply(ev)

    def set_lr(self, lr: Any) -> None:
        self._record({"epoch": self.epochs, "lr": _num({"lr": lr}, "lr", 1e-6, 10.0)})

    def set_weight(self, layer: Any, i: Any, j: Any, value: Any) -> None:
        sizes = self.net.sizes
        idx = [layer, i, j]
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in idx) or not (
            0 <= layer < len(sizes) - 1 and 0 <= i < sizes[layer] and 0 <= j < sizes[layer + 1]
        ):
            raise ConfigError(f"weight [layer, i, j] = {idx!r} is not in the network {sizes}.")
        self._record({"epoch": self.epochs, "weight": idx, "value": _num({"value": value}, "value", -100.0, 100.0)})

    # -- training ---------------------------------------------------------------------------------
    def epoch(self) -> None:
        """One pass over the training set in mini-batches (the playground's "step")."""
        while not self.train_slice(math.inf):
            pass

    def train_slice(self, seconds: float = SLICE_S) -> bool:
        """Train on for about ``seconds`` (at least one batch) and say whether the epoch is complete.

        An epoch is cut into slices so that a worker thread can switch to other sessions between them: one
        session's big network never holds a worker for a whole epoch. The epoch is the same, bit for bit,
        however it is sliced: its permutation is drawn from the order generator when it starts (as
        ``train(sampling="epochs")`` draws it), and the slices train on consecutive batches of it. The
        slice's length in batches follows the time the last slice took.
        """
        if self.diverged:
            self._epoch_perm = None
            return True
        cfg = self.config
        batch, n = min(cfg["batch"], len(self.ttr)), len(self.ttr)
        per_epoch = math.ceil(n / batch)
        if self._epoch_perm is None:
            self._epoch_perm, self._epoch_pos = self.order.permutation(n), 0
        left = per_epoch - self._epoch_pos
        steps = left if math.isinf(seconds) else min(self._slice_steps, left)
        lo = self._epoch_pos * batch
        t0 = time.perf_counter()
        try:
            h = train(
                self.net,
                self.Xtr,
                self.ttr,
                opt=self.opt,
                batch_size=batch,
                sampling=self._epoch_perm[lo : min(lo + steps * batch, n)],
                alpha=cfg["reg_rate"] if cfg["reg"] == "l2" else 0.0,
                l1=cfg["reg_rate"] if cfg["reg"] == "l1" else 0.0,
            )
            self.steps += h.steps
        except FloatingPointError as exc:
            hist = getattr(exc, "history", None)
            self.steps += hist.steps if hist is not None else 0
            self.diverged = f"Training diverged: {exc} Press reset, then lower the learning rate (now {self.opt.lr:g})."
        elapsed = time.perf_counter() - t0
        if math.isfinite(seconds):
            self._slice_steps = max(1, min(per_epoch, int(steps * seconds / max(elapsed, 1e-6))))
        self._epoch_pos += steps
        if self._epoch_pos < per_epoch and not self.diverged:
            return False
        self._epoch_perm = None
        self.epochs += 1
        self._apply_schedule()
        return True

    def _penalties(self) -> tuple[float, float]:
        rate, reg = self.config["reg_rate"], self.config["reg"]
        return (rate if reg == "l2" else 0.0), (rate if reg == "l1" else 0.0)

    def _metrics(self, z_train: np.ndarray | None = None) -> dict[str, float | None]:
        """Loss and accuracy on both sets (``z_train``: the training logits, when already computed)."""
        p = self.net.params
        act = self.net.activation
        head = HEADS[self.net.output]
        out: dict[str, float | None] = {}
        for name, X, t in (("train", self.Xtr, self.ttr), ("test", self.Xte, self.tte)):
            if len(t) == 0:  # a handful of drawn points can leave the test set empty
                out[f"{name}_loss"] = out[f"{name}_acc"] = None
                continue
            z = z_train if name == "train" and z_train is not None else forward(p, X, act)
            out[f"{name}_loss"] = float(head.sample_loss(z, t).mean())
            out[f"{name}_acc"] = None if head.correct is None else float(np.mean(head.correct(z, t)))
        return out

    def backward(self) -> tuple[dict[str, np.ndarray], list[np.ndarray], list[int]]:
        """The full training set's gradient (the core's reference backward pass); per hidden layer,
        each sample's backpropagated signal ``delta = d loss_n / d a`` (N, units) at the layer's
        pre-activations ``a`` (the quantity whose products with h_i^T make ``dW``); and per hidden
        layer the number of dead units: f'(a) = 0 on every training point, so no gradient reaches them."""
        deltas, dead, _ = self._deltas()
        return self._gradient(), deltas, dead

    def _gradient(self) -> dict[str, np.ndarray]:
        """The full training set's gradient, penalties included (the core's reference backward pass)."""
        alpha, l1 = self._penalties()
        _, grads = loss_and_grads(self.net.params, self.Xtr, self.ttr, self.net.activation, self.net.output, alpha, l1)
        return dict(grads)

    def _deltas(self) -> tuple[list[np.ndarray], list[int], np.ndarray]:
        """:meth:`backward`'s per-sample deltas and dead units, and the training set's logits."""
        p, act = self.net.params, ACTIVATIONS[self.net.activation]
        hs = [self.Xtr]
        for i in range(self.net.n_layers - 1):
            hs.append(act.f(hs[i] @ p[f"W{i}"] + p[f"b{i}"]))
        z = hs[-1] @ p[f"W{self.net.n_layers - 1}"] + p[f"b{self.net.n_layers - 1}"]
        delta = HEADS[self.net.output].sample_grad(z, self.ttr)  # per sample, not divided by N
        deltas: list[np.ndarray] = []
        dead: list[int] = []
        for i in range(self.net.n_layers - 1, 0, -1):
            df = act.df(hs[i])
            delta = (delta @ p[f"W{i}"].T) * df
            deltas.insert(0, delta)
            dead.insert(0, int(np.sum(np.all(df == 0, axis=0))))
        return deltas, dead, z

    def _gradient_maps(self, deltas: list[np.ndarray]) -> list[dict[str, Any]]:
        """Each hidden unit's mean delta over the training points in each GRAD_RES cell (0 where none)."""
        return [_int8_map((self.cell_mean @ d).T) for d in deltas]

    def frame(self, with_gradcheck: bool = True) -> dict[str, Any]:
        """Everything the page draws, as JSON-ready values (arrays as base64 uint8/int8/float32):
        :meth:`frame_parts` run through."""
        for frame in self.frame_parts(with_gradcheck):
            if frame is not None:
                return frame
        raise RuntimeError("frame_parts ended without a frame")  # not reached: its last part yields the frame

    def frame_parts(self, with_gradcheck: bool = True) -> Iterator[dict[str, Any] | None]:
        """The frame in parts of a few milliseconds each: ``None`` after every part but the last, which
        yields the frame. A 6 x 64 network's frame on 2,000 points takes about 20 ms in all, its largest
        part about 6 ms; the server runs each part as a job of its own, so the other sessions' jobs run
        in between and a light session's frame never waits for a whole big frame. The session must not
        change between the parts (the server holds its lock throughout).

        Each part on one BLAS thread: a server computes many tabs' frames, and these products are small
        enough that a second thread only waits for a busy core."""
        with _one_blas_thread():
            grads = self._gradient()
        yield None
        with _one_blas_thread():
            deltas, dead, z_train = self._deltas()
        yield None
        with _one_blas_thread():
            frame = self._frame(grads, deltas, dead, z_train)
        if with_gradcheck and not self.diverged:
            yield None
            with _one_blas_thread():
                frame["gradcheck"] = self.gradient_check()
        yield frame

    def replay(self, target: int, budget_s: float) -> None:
        """Train on towards epoch ``target`` (a shared link's epoch) for about ``budget_s`` seconds.

        The same epochs as the sender's, so the same weights bit for bit: each is one :meth:`epoch`
        with the schedule applied as it passes, and frames never change the run. Each epoch's losses
        are recorded, so the page can draw the curve it missed (:meth:`history`)."""
        end = time.perf_counter() + budget_s
        while self.epochs < target and not self.diverged:
            self._curve_point()
            self.epoch()
            if time.perf_counter() > end:
                break

    def _curve_point(self, metrics: dict[str, float | None] | None = None) -> None:
        """The losses at the current epoch, once per epoch however many frames show it."""
        if len(self.curve["train_loss"]) <= self.epochs:
            for k, v in (self._metrics() if metrics is None else metrics).items():
                self.curve[k].append(math.nan if v is None else v)
            last = self.curve["train_loss"][-1]
            if math.isfinite(last):
                self.best_loss = min(self.best_loss, last)

    def history(self) -> dict[str, list[Any]]:
        """The recorded loss curve, at most HISTORY_POINTS epochs evenly spaced (NaN as None)."""
        n = len(self.curve["train_loss"])
        keep: list[int] = np.unique(np.linspace(0, n - 1, min(n, HISTORY_POINTS)).round().astype(int)).tolist()
        out: dict[str, list[Any]] = {"epoch": keep}
        for k, values in self.curve.items():
            out[k] = [_finite(values[i]) for i in keep]
        return out

    def _frame(
        self, grads: dict[str, np.ndarray], deltas: list[np.ndarray], dead: list[int], z_train: np.ndarray
    ) -> dict[str, Any]:
        m = self._metrics(z_train)
        self._curve_point(m)
        if not self.diverged:  # one message while the trouble lasts (not one per kind), gone when the run recovers
            now = loss_warning(self.curve["train_loss"][-STUCK_EPOCHS:], self.chance, self.best_loss)
            self.warning = (self.warning or now) if now else None
        # the pictures in float32 (they are sent as bytes: float32 is ample, and its products twice as fast)
        p = {k: _f32(v) for k, v in self.net.params.items()}
        with np.errstate(over="ignore", invalid="ignore"):  # a diverging run's huge weights: drawn, not raised
            heat, neurons = self._pictures(p)
        n_layers = self.net.n_layers
        weights = [p[f"W{i}"].ravel() for i in range(n_layers)]
        dW = [_f32(grads[f"W{i}"]).ravel() for i in range(n_layers)]
        wires = [_strongest(w, g) for w, g in zip(weights, dW)]
        frame: dict[str, Any] = {
            "type": "frame",
            "step": self.steps,
            "epoch": self.epochs,
            **{k: (v if v is not None and math.isfinite(v) else None) for k, v in m.items()},
            "classes": self.n_outputs,
            "regression": self.regression,
            "heat": heat["data"],
            "heat_scale": heat["scale"],
            "heat_res": self.heat_res,
            "neuron_res": self.neuron_res,
            "grad_res": GRAD_RES,
            "neurons": neurons,
            "gradient_maps": self._gradient_maps(deltas),
            "sizes": list(self.net.sizes),
            "weights": [_b64(w if k is None else w[k]) for w, k in zip(weights, wires)],
            "wire_index": [None if k is None else _b64(k) for k in wires],
            "max_wires": MAX_WIRES,
            "biases": [_b64(p[f"b{i}"]) for i in range(n_layers)],
            "grads": [_b64(g if k is None else g[k]) for g, k in zip(dW, wires)],
            "grad_norms": [_finite(float(np.linalg.norm(grads[f"W{i}"]))) for i in range(n_layers)],
            "dead": dead,
            "diverged": self.diverged,
            "warning": self.warning,
            "lr": self.opt.lr,
            "base_lr": self.config["lr"],
            "schedule": self.config["schedule"],
        }
        return frame

    def _pictures(self, p: dict[str, np.ndarray]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The output over the heat grid and each hidden unit's output over the neuron grid (quantised)."""
        act = ACTIVATIONS[self.net.activation]
        z = forward(p, self.heat_pts, self.net.activation)
        if self.regression:  # the predicted value on the grid, int8 over its largest magnitude
            heat = _int8_map(z.T)
        else:  # softmax probabilities on the grid, quantised to bytes (HEAT_RES^2 x C)
            heat = {"scale": 1.0, "data": _b64(np.round(np.nan_to_num(softmax(z)) * 255).astype(np.uint8))}
        neurons = []
        h = self.neuron_pts
        for i in range(self.net.n_layers - 1):
            h = act.f(h @ p[f"W{i}"] + p[f"b{i}"])
            neurons.append(_int8_map(h.T))
        return heat, neurons

    def gradient_check(self) -> dict[str, Any]:
        """The analytic gradient on the first GRADCHECK_POINTS training points against central
        differences: of every entry, or of a fresh random sample of them in a large network."""
        n = min(GRADCHECK_POINTS, len(self.ttr))
        alpha, l1 = self._penalties()
        sample = None if self.net.n_params <= GRADCHECK_FULL else GRADCHECK_SAMPLE
        res = gradcheck(self.net, self.Xtr[:n], self.ttr[:n], alpha=alpha, l1=l1, sample=sample, seed=self.check_rng)
        return {
            "max_rel_error": res.max_rel_error,
            "norm_rel_error": res.norm_rel_error,
            "kinks": res.n_kinks,
            "passed": res.passed,
            "checked": res.n_checked,
            "entries": res.n_entries,
        }

    def data_message(self) -> dict[str, Any]:
        inputs = features(self._raw_neuron_grid(), self.config["features"])
        return {
            "type": "data",
            "window": self.window,
            "classes": self.n_outputs,
            "regression": self.regression,
            "train": np.column_stack([self.Xtr_raw, self.ytr]).round(4).tolist(),
            "test": np.column_stack([self.Xte_raw, self.yte]).round(4).tolist(),
            "inputs": [_int8_map(inputs[:, k][None, :]) for k in range(inputs.shape[1])],
            "catalog": {k: {**v, "noise": list(v["noise"])} for k, v in CATALOG.items()},
            "features": list(FEATURES),
            "config": {k: v for k, v in self.config.items() if k not in ("csv", "points")},
        }

    def _raw_neuron_grid(self) -> np.ndarray:
        x0, x1, y0, y1 = self.window
        gx, gy = np.meshgrid(np.linspace(x0, x1, self.neuron_res), np.linspace(y1, y0, self.neuron_res))
        return np.column_stack([gx.ravel(), gy.ravel()])

    def model_bytes(self) -> bytes:
        """The trained network in the package's file format (``perceptrons.load`` reads it)."""
        fd, path = tempfile.mkstemp(suffix=".npz")
        os.close(fd)
        try:
            self.net.save(path)
            with open(path, "rb") as fh:
                return fh.read()
        finally:
            os.unlink(path)


def _finite(v: float) -> float | None:
    return v if math.isfinite(v) else None


def _python_data(cfg: dict[str, Any]) -> list[str]:
    name = cfg["dataset"]
    if name == "csv":
        return ['X, y, classes = datasets.load_csv("your.csv")  # the uploaded file']
    if name == "custom":
        return [
            f"X = np.array({[p[:2] for p in cfg['points']]})",
            f"y = np.array({[int(p[2]) for p in cfg['points']]})  # the classes as drawn",
        ]
    k = f", k={cfg['classes']}" if name in ("blobs", "spiral") else ""
    return [f"X, y = datasets.{name}(n={cfg['n']}, noise={cfg['noise']}, seed={cfg['data_seed']}{k})"]


def _python_training(cfg: dict[str, Any], epochs: int) -> list[str]:
    """The training calls, one per stretch of epochs between recorded changes."""
    if not epochs:
        return [
            *(
                f"net.params['W{e['weight'][0]}'][{e['weight'][1]}, {e['weight'][2]}] = {e['value']}  # edited"
                for e in cfg["schedule"]
                if "weight" in e
            ),
            "# not trained yet: press play, then ask for the code again",
        ]
    alpha = cfg["reg_rate"] if cfg["reg"] == "l2" else 0.0
    l1 = cfg["reg_rate"] if cfg["reg"] == "l1" else 0.0
    target = "t_train"
    lines = [
        {
            "sgd": f"opt = pc.SGD(lr={cfg['lr']})",
            "momentum": f"opt = pc.SGD(lr={cfg['lr']}, momentum=0.9)",
            "adam": f"opt = pc.Adam(lr={cfg['lr']})",
        }[cfg["optimizer"]],
        f"order = np.random.default_rng({cfg['order_seed']})",
        "",
        "",
        "def run(epochs):",
        f"    pc.train(net, X_train, {target}, opt=opt, batch_size={cfg['batch']}, sampling='epochs', epochs=epochs,",
        f"             seed=order, alpha={alpha}, l1={l1})",
        "",
        "",
    ]
    done = 0
    for ev in [e for e in cfg["schedule"] if e["epoch"] <= epochs] + [{"epoch": epochs}]:
        if ev["epoch"] > done:
            lines.append(f"run({ev['epoch'] - done})")
            done = ev["epoch"]
        if "lr" in ev:
            lines.append(f"opt.lr = {ev['lr']}  # changed at epoch {ev['epoch']}")
        elif "weight" in ev:
            layer, i, j = ev["weight"]
            lines.append(f"net.params['W{layer}'][{i}, {j}] = {ev['value']}  # edited at epoch {ev['epoch']}")
    return lines


def python_code(cfg: dict[str, Any], epochs: int) -> str:
    """The ``perceptrons`` code that reproduces a run of ``epochs`` epochs with its recorded changes."""
    regression = is_regression(cfg)
    feats = ", ".join(FEATURES[f][0] for f in cfg["features"])
    layers = "".join(f"{u}, " for u in cfg["layers"])
    if regression:
        split = "stratify=False"
        net = f"net = pc.MLP([{len(cfg['features'])}, {layers}1], activation={cfg['activation']!r}, output='identity', seed={cfg['init_seed']})"
        targets = "t_train, t_test = y_train[:, None], y_test[:, None]  # the identity head reads (N, 1) values"
        score = "print(net, 'test loss', net.loss(X_test, t_test))"
    else:
        split = "stratify=True"
        net = f"net = pc.MLP([{len(cfg['features'])}, {layers}int(y.max()) + 1], activation={cfg['activation']!r}, seed={cfg['init_seed']})"
        targets = "t_train, t_test = y_train, y_test"
        score = "print(net, 'test accuracy', net.accuracy(X_test, t_test) if len(t_test) else None)"
    return (
        "\n".join(
            [
                "import numpy as np",
                "",
                "import perceptrons as pc",
                "from perceptrons import datasets",
                "",
                *_python_data(cfg),
                (
                    "X_train, X_test, y_train, y_test = X, X[:0], y, y[:0]  # too few points to split"
                    if cfg["dataset"] == "custom" and len(cfg["points"]) < MIN_SPLIT
                    else f"X_train, X_test, y_train, y_test = datasets.train_test_split(X, y, test_size={cfg['test_ratio']}, "
                    f"seed={cfg['data_seed']}, {split})"
                ),
                "",
                "",
                "def features(X):  # the network's inputs: " + ", ".join(cfg["features"]),
                f"    return np.column_stack([{feats}])",
                "",
                "",
                "X_train, X_test = features(X_train), features(X_test)",
                targets,
                net,
                *_python_training(cfg, epochs),
                score,
            ]
        )
        + "\n"
    )
