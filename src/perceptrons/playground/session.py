"""One playground session (one browser tab): its configuration, data, network and frames.

Everything here is the library itself: the data sets, :class:`~perceptrons.MLP`,
:func:`~perceptrons.train` and :func:`~perceptrons.gradcheck`; the server only moves messages.
A configuration is validated against hard limits so that no request can exhaust the machine.
"""

from __future__ import annotations

import base64
import math
import os
import tempfile
from typing import Any

import numpy as np

from ..core import MLP, SGD, Adam, forward, gradcheck, train
from ..core.activations import ACTIVATIONS
from ..core.heads import HEADS, softmax
from ..datasets import DATASETS, parse_csv, train_test_split

LIMITS = {
    "points": 2000,
    "layers": 6,
    "units": 64,
    "classes": 5,
    "batch": 2000,
    "csv_bytes": 1_000_000,
    "seed": 2**31 - 1,
    "coordinate": 1e6,  # |x|, |y| of a clicked point: the picture's window must stay finite
}
DATASET_NAMES = ("circles", "moons", "xor", "spiral", "gaussian", "blobs", "csv", "custom")
DEFAULTS: dict[str, Any] = {
    "dataset": "circles",
    "noise": 0.1,
    "n": 500,
    "classes": 3,
    "test_ratio": 0.5,
    "layers": [8, 8],
    "activation": "tanh",
    "optimizer": "sgd",
    "lr": 0.03,
    "batch": 10,
    "reg": "none",
    "reg_rate": 0.0,
    "data_seed": 1,
    "init_seed": 1,
    "order_seed": 1,
}
HEAT_RES = 64  # the heat map grid (HEAT_RES^2 points, one batched forward pass)
NEURON_RES = 24  # the per-neuron output maps


class ConfigError(ValueError):
    """A configuration the playground refuses; the message says what was expected."""


def _num(cfg: dict[str, Any], key: str, lo: float, hi: float, integer: bool = False) -> Any:
    v = cfg[key]
    if isinstance(v, bool) or not isinstance(v, (int, float)) or (integer and float(v) != int(v)):
        raise ConfigError(f"{key} must be {'an integer' if integer else 'a number'} in [{lo}, {hi}], got {v!r}.")
    if not (lo <= v <= hi) or not math.isfinite(v):
        raise ConfigError(f"{key} must be in [{lo}, {hi}], got {v!r}.")
    return int(v) if integer else float(v)


def validate_config(raw: Any) -> dict[str, Any]:
    """Defaults filled in, every value checked against the limits; raises ConfigError."""
    if not isinstance(raw, dict):
        raise ConfigError(f"config must be an object, got {type(raw).__name__}.")
    unknown = set(raw) - set(DEFAULTS) - {"csv", "points", "label"}
    if unknown:
        raise ConfigError(f"unknown config keys {sorted(unknown)}; known: {sorted(DEFAULTS)}.")
    cfg = {**DEFAULTS, **raw}
    if cfg["dataset"] not in DATASET_NAMES:
        raise ConfigError(f"dataset must be one of {list(DATASET_NAMES)}, got {cfg['dataset']!r}.")
    cfg["noise"] = _num(cfg, "noise", 0.0, 2.0)
    cfg["n"] = _num(cfg, "n", 10, LIMITS["points"], integer=True)
    cfg["classes"] = _num(cfg, "classes", 2, LIMITS["classes"], integer=True)
    cfg["test_ratio"] = _num(cfg, "test_ratio", 0.1, 0.9)
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
    if cfg["dataset"] == "csv":
        text = cfg.get("csv")
        if not isinstance(text, str) or not text.strip():
            raise ConfigError("dataset 'csv' needs the file's text in 'csv'.")
        if len(text.encode()) > LIMITS["csv_bytes"]:
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


def make_data(cfg: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    name = cfg["dataset"]
    if name == "csv":
        X, y, _ = parse_csv(cfg["csv"], cfg.get("label", -1), name="uploaded CSV")
        if X.shape[1] != 2:
            raise ConfigError(f"the playground draws 2 features; the CSV has {X.shape[1]}. Keep two feature columns.")
        if len(y) > LIMITS["points"]:
            raise ConfigError(f"the CSV has {len(y)} rows; the playground takes at most {LIMITS['points']}.")
        if y.max() + 1 > LIMITS["classes"]:
            raise ConfigError(f"the CSV has {y.max() + 1} classes; the playground takes at most {LIMITS['classes']}.")
        return X, y
    if name == "custom":
        pts = np.asarray(cfg["points"], dtype=float)
        return pts[:, :2].copy(), pts[:, 2].astype(np.intp)
    kw: dict[str, Any] = {"k": cfg["classes"]} if name in ("blobs", "spiral") else {}
    return DATASETS[name](n=cfg["n"], noise=cfg["noise"], seed=cfg["data_seed"], **kw)  # type: ignore[operator]


def _b64(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a).tobytes()).decode()


class Session:
    """Data, network and optimiser for one configuration; :meth:`epoch` trains, :meth:`frame` draws."""

    def __init__(self, raw_config: Any) -> None:
        cfg = validate_config(raw_config)
        X, y = make_data(cfg)
        classes = np.unique(y)
        if classes.size < 2:
            raise ConfigError("the data has a single class; add points of another class.")
        y = np.searchsorted(classes, y)
        Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=cfg["test_ratio"], seed=cfg["data_seed"])
        if len(ytr) == 0 or len(yte) == 0:
            raise ConfigError("too few points to split into train and test sets; add points.")
        self.config = cfg
        self.Xtr, self.Xte, self.ytr, self.yte = Xtr, Xte, ytr, yte
        self.n_classes = int(classes.size)
        lo, hi = X.min(axis=0), X.max(axis=0)
        pad = 0.15 * np.maximum(hi - lo, 1e-6)
        self.window = [float(lo[0] - pad[0]), float(hi[0] + pad[0]), float(lo[1] - pad[1]), float(hi[1] + pad[1])]
        self.net = MLP([2, *cfg["layers"], self.n_classes], activation=cfg["activation"], seed=cfg["init_seed"])
        self.order = np.random.default_rng(cfg["order_seed"])
        self.opt: SGD | Adam = (
            Adam(cfg["lr"])
            if cfg["optimizer"] == "adam"
            else SGD(cfg["lr"], 0.9 if cfg["optimizer"] == "momentum" else 0.0)
        )
        self.steps = 0
        self.epochs = 0
        self.diverged: str | None = None
        self.curve: dict[str, list[float]] = {"train_loss": [], "test_loss": [], "train_acc": [], "test_acc": []}
        self._grids()

    def _grids(self) -> None:
        x0, x1, y0, y1 = self.window
        gx, gy = np.meshgrid(np.linspace(x0, x1, HEAT_RES), np.linspace(y1, y0, HEAT_RES))  # row 0 = top
        self.heat_pts = np.column_stack([gx.ravel(), gy.ravel()])
        gx, gy = np.meshgrid(np.linspace(x0, x1, NEURON_RES), np.linspace(y1, y0, NEURON_RES))
        self.neuron_pts = np.column_stack([gx.ravel(), gy.ravel()])

    def set_lr(self, lr: Any) -> None:
        cfg = {**self.config, "lr": lr}
        self.config["lr"] = _num(cfg, "lr", 1e-6, 10.0)
        self.opt.lr = self.config["lr"]

    def epoch(self) -> None:
        """One pass over the training set in mini-batches (the playground's "step")."""
        if self.diverged:
            return
        cfg = self.config
        rate = cfg["reg_rate"]
        try:
            h = train(
                self.net,
                self.Xtr,
                self.ytr,
                opt=self.opt,
                batch_size=cfg["batch"],
                sampling="epochs",
                epochs=1,
                seed=self.order,
                alpha=rate if cfg["reg"] == "l2" else 0.0,
                l1=rate if cfg["reg"] == "l1" else 0.0,
            )
            self.steps += h.steps
        except FloatingPointError as exc:
            hist = getattr(exc, "history", None)
            self.steps += hist.steps if hist is not None else 0
            self.diverged = f"Training diverged: {exc} Press reset, then lower the learning rate (now {cfg['lr']:g})."
        self.epochs += 1

    def _metrics(self) -> dict[str, float]:
        p = self.net.params
        act = self.net.activation
        head = HEADS[self.net.output]
        out = {}
        for name, X, y in (("train", self.Xtr, self.ytr), ("test", self.Xte, self.yte)):
            z = forward(p, X, act)
            out[f"{name}_loss"] = float(head.sample_loss(z, y).mean())
            out[f"{name}_acc"] = float(np.mean(z.argmax(axis=1) == y))  # the playground's head is softmax
        return out

    def frame(self, with_gradcheck: bool = True) -> dict[str, Any]:
        """Everything the page draws, as JSON-ready values (arrays as base64 uint8/int8)."""
        m = self._metrics()
        for k, v in m.items():
            self.curve[k].append(v)
        p = self.net.params
        act = self.net.activation
        # heat map: softmax probabilities on the grid, quantised to bytes (HEAT_RES^2 x C)
        heat = np.round(softmax(forward(p, self.heat_pts, act)) * 255).astype(np.uint8)
        # per-neuron maps: every hidden unit's output on a coarse grid, scaled to int8
        neurons = []
        h = self.neuron_pts
        for i in range(self.net.n_layers - 1):
            h = ACTIVATIONS[act].f(h @ p[f"W{i}"] + p[f"b{i}"])
            scale = float(np.abs(h).max()) or 1.0
            neurons.append({"scale": scale, "data": _b64(np.round(h.T / scale * 127).astype(np.int8))})
        frame: dict[str, Any] = {
            "type": "frame",
            "step": self.steps,
            "epoch": self.epochs,
            **{k: (v if math.isfinite(v) else None) for k, v in m.items()},
            "classes": self.n_classes,
            "heat": _b64(heat),
            "heat_res": HEAT_RES,
            "neuron_res": NEURON_RES,
            "neurons": neurons,
            "weights": [np.round(p[f"W{i}"], 4).tolist() for i in range(self.net.n_layers)],
            "biases": [np.round(p[f"b{i}"], 4).tolist() for i in range(self.net.n_layers)],
            "diverged": self.diverged,
            "lr": self.config["lr"],
        }
        if with_gradcheck and not self.diverged:
            n = min(16, len(self.ytr))
            cfg = self.config
            res = gradcheck(
                self.net,
                self.Xtr[:n],
                self.ytr[:n],
                alpha=cfg["reg_rate"] if cfg["reg"] == "l2" else 0.0,
                l1=cfg["reg_rate"] if cfg["reg"] == "l1" else 0.0,
            )
            frame["gradcheck"] = {
                "max_rel_error": res.max_rel_error,
                "norm_rel_error": res.norm_rel_error,
                "kinks": res.n_kinks,
                "passed": res.passed,
            }
        return frame

    def data_message(self) -> dict[str, Any]:
        return {
            "type": "data",
            "window": self.window,
            "classes": self.n_classes,
            "train": np.column_stack([self.Xtr, self.ytr]).round(4).tolist(),
            "test": np.column_stack([self.Xte, self.yte]).round(4).tolist(),
            "config": {k: v for k, v in self.config.items() if k not in ("csv", "points")},
        }

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


def python_code(cfg: dict[str, Any], epochs: int) -> str:
    """The few lines of ``perceptrons`` code that reproduce a run of ``epochs`` epochs."""
    name = cfg["dataset"]
    if name == "csv":
        data = 'X, y, classes = datasets.load_csv("your.csv")  # the uploaded file'
    elif name == "custom":
        data = (
            f"X = np.array({[p[:2] for p in cfg['points']]})\n"
            f"y = np.unique(np.array({[int(p[2]) for p in cfg['points']]}), return_inverse=True)[1]"
        )
    else:
        k = f", k={cfg['classes']}" if name in ("blobs", "spiral") else ""
        data = f"X, y = datasets.{name}(n={cfg['n']}, noise={cfg['noise']}, seed={cfg['data_seed']}{k})"
    opt = {
        "sgd": f"pc.SGD(lr={cfg['lr']})",
        "momentum": f"pc.SGD(lr={cfg['lr']}, momentum=0.9)",
        "adam": f"pc.Adam(lr={cfg['lr']})",
    }[cfg["optimizer"]]
    reg = {"none": "", "l2": f", alpha={cfg['reg_rate']}", "l1": f", l1={cfg['reg_rate']}"}[cfg["reg"]]
    n_classes = "len(np.unique(y))"
    return (
        "\n".join(
            [
                "import numpy as np",
                "import perceptrons as pc",
                "from perceptrons import datasets",
                "",
                data,
                f"X_train, X_test, y_train, y_test = datasets.train_test_split(X, y, test_size={cfg['test_ratio']}, "
                f"seed={cfg['data_seed']})",
                f"net = pc.MLP([2, {', '.join(str(u) for u in cfg['layers'])}{', ' if cfg['layers'] else ''}{n_classes}], "
                f"activation={cfg['activation']!r}, seed={cfg['init_seed']})",
                *(
                    [
                        f"pc.train(net, X_train, y_train, opt={opt}, batch_size={cfg['batch']}, sampling='epochs', epochs={epochs},",
                        f"         seed=np.random.default_rng({cfg['order_seed']}){reg})",
                    ]
                    if epochs
                    else ["# not trained yet: press play, then ask for the code again"]
                ),
                "print(net, 'test accuracy', net.accuracy(X_test, y_test))",
            ]
        )
        + "\n"
    )
