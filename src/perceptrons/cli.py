"""Command line: ``perceptrons report | train | gradcheck | check``. Argument wiring only.

A user mistake ends with a one-line ``error: ...`` on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import re
import runpy
import sys
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # the command line draws into files only; chosen before pyplot is imported

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from tqdm import tqdm  # noqa: E402

from .core import MLP, gradcheck, memory, train
from .core.activations import ACTIVATIONS
from .datasets import DATASETS, load_csv, make, train_test_split
from .estimator import PerceptronClassifier
from .exercises import check as check_exercises
from .io import atomic_write, check_replaceable_dir, load, writable_target
from .playground.server import serve
from .plotting import plot_decision_boundary, plot_history
from .report import report_file, write_report
from .study import StudyConfig, run_study

USER_ERRORS = (ValueError, TypeError, FloatingPointError, FileNotFoundError, PermissionError, IsADirectoryError)


class _Progress:
    """The study's progress as a tqdm bar on a terminal (ends at 100 %); silent otherwise."""

    def __init__(self, enabled: bool) -> None:
        self.bar = tqdm(total=100, disable=not enabled, bar_format="{l_bar}{bar:30}| {elapsed} {postfix}", leave=True)

    def __call__(self, msg: str, frac: float) -> None:
        self.bar.set_postfix_str(msg, refresh=False)
        self.bar.update(max(0, round(100 * frac) - self.bar.n))

    def done(self) -> None:
        self.bar.set_postfix_str("done", refresh=False)
        self.bar.update(100 - self.bar.n)
        self.bar.close()


def _formats(text: str) -> tuple[str, ...]:
    items = tuple(x.strip().lower() for x in text.split(",") if x.strip())
    bad = [x for x in items if x not in ("html", "pdf")]
    if bad or not items:
        raise argparse.ArgumentTypeError(f"--format takes a comma-separated list of html and pdf, got {text!r}")
    return items


def _nonneg_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {v}")
    return v


def _jobs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value == 0 or value < -1:
        raise argparse.ArgumentTypeError(f"expected a number of jobs >= 1, or -1 for all cores, got {text!r}")
    return value


def _path(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("the path is empty; give a file name (or leave the option out)")
    return text


def _sizes(text: str) -> list[int]:
    items = text.replace(" ", "").split(",")
    if items == [""]:
        return []  # '' is no hidden layer
    if not all(re.fullmatch(r"[0-9]+", x) for x in items):  # ASCII digits: '16,,8' or '²' is a typo, not a size
        raise argparse.ArgumentTypeError(f"expected hidden sizes like 16 or 16,8 ('' for none), got {text!r}")
    return [int(x) for x in items]


def cmd_report(args: argparse.Namespace) -> int:

    out = check_replaceable_dir(args.out, report_file)  # before the study: it takes minutes
    progress = _Progress(sys.stderr.isatty() and not args.quiet)
    study = run_study(StudyConfig(seed=args.seed, quick=args.quick, jobs=args.jobs), progress)
    written = write_report(study, out, args.format)
    progress.done()
    main_file = written.get("html") or written.get("pdf") or written["metrics"]
    print(f"report written to {main_file.resolve()} ({study.metrics['total_time_s']:.1f} s)")
    return 0


def _check_data_args(args: argparse.Namespace) -> None:
    """Options that contradict each other or cannot work, refused before anything runs."""
    if args.csv is not None and args.data is not None:
        raise ValueError("--csv and --data both name the data; give one of them.")
    if args.classes is not None:
        if args.csv is not None or args.data not in ("blobs", "spiral"):
            raise ValueError("--classes applies to --data blobs and --data spiral only; drop it or change --data.")
        if args.classes < 2:
            raise ValueError(f"--classes must be at least 2 (a classifier needs two classes), got {args.classes}.")


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's last flush at exit does not fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # AttributeError: no stdout at all
        pass
    os.close(devnull)


def _load_data(args: argparse.Namespace) -> tuple[Any, Any, int]:
    _check_data_args(args)
    if args.csv is not None:
        progress = _Progress(sys.stderr.isatty())
        X, y, classes = load_csv(args.csv, label=args.label, delimiter=args.delimiter, progress=progress)
        progress.done()
        return X, y, len(classes)
    kw = {"k": args.classes} if args.classes is not None else {}
    X, y = make(args.data or "moons", n=args.n, noise=args.noise, seed=args.seed, **kw)
    return X, y, int(y.max()) + 1


def _network(args: argparse.Namespace, n_in: int, n_classes: int) -> MLP:
    sizes = [n_in, *args.hidden, n_classes]
    n_params = memory.n_params(sizes)  # checked before allocating (the limit: PERCEPTRONS_MEMORY_LIMIT)
    memory.check(f"a network of sizes {sizes} ({n_params:,} parameters)", 5 * 8 * n_params)  # + grads, optimiser
    return MLP(sizes, activation=args.activation, init=args.init, seed=args.seed)


def _check_train_args(args: argparse.Namespace) -> None:
    if args.steps and args.epochs is not None:
        raise ValueError("--steps and --epochs both say how long to train; give one of them.")
    targets = {}
    for option, path in (("--save", args.save), ("--plot", args.plot)):
        if path is not None:  # checked now, not after the training
            try:
                targets[option] = writable_target(path)
            except ValueError as exc:
                raise ValueError(f"{option}: {exc}") from None
    if len(targets) == 2 and targets["--save"] == targets["--plot"]:
        raise ValueError(
            f"--save and --plot name the same file ({targets['--save']}); the plot would replace the model. "
            "Give two different files."
        )


def _plot(args: argparse.Namespace, net: MLP, hist: Any, X: Any, Xte: Any, yte: Any) -> None:

    fig = plt.figure(figsize=(14, 4))
    axs = fig.subplots(1, 3)
    plot_history(hist, axes=axs[:2], window=max(1, hist.steps // 20))
    if X.shape[1] == 2:
        plot_decision_boundary(net, Xte, yte, ax=axs[2], title="decision function (test points)")
    else:
        axs[2].text(0.5, 0.5, f"no boundary plot: {X.shape[1]} features", ha="center")
        axs[2].axis("off")
    fig.tight_layout()
    atomic_write(args.plot, lambda fh: fig.savefig(fh, format="png", dpi=110))
    plt.close(fig)


def cmd_train(args: argparse.Namespace) -> int:
    _check_train_args(args)
    X, y, n_classes = _load_data(args)
    if n_classes < 2:
        raise ValueError(f"the data has a single class; a classifier needs at least 2, got {n_classes}.")
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=args.test_size, seed=args.seed)
    net = _network(args, X.shape[1], n_classes)
    sampling = "replacement" if args.steps else "epochs"
    hist = train(
        net,
        Xtr,
        ytr,
        optimizer=args.optimizer,
        lr=args.lr,
        momentum=args.momentum,
        batch_size=args.batch_size,
        sampling=sampling,
        steps=args.steps or None,
        epochs=None if args.steps else (20 if args.epochs is None else args.epochs),
        alpha=args.alpha,
        eval_data=(Xte, yte),
        eval_every=args.eval_every,
        seed=args.seed,
    )
    # saved (and plotted) before anything is printed: a closed pipe on stdout must not lose the model
    if args.save is not None:
        net.save(args.save)
    if args.plot is not None:
        _plot(args, net, hist, X, Xte, yte)
    print(net)
    print(f"steps {hist.steps}, time {hist.time_s:.2f} s")
    print(
        f"final batch loss {hist.loss[-1]:.4f}, train loss {net.loss(Xtr, ytr):.4f}, test loss {net.loss(Xte, yte):.4f}"
    )
    print(f"train accuracy {net.accuracy(Xtr, ytr):.4f}, test accuracy {hist.test_accuracy[-1]:.4f}")
    if args.plot is not None:
        print(f"plot written to {os.path.abspath(args.plot)}")
    if args.save is not None:
        print(f"model saved to {os.path.abspath(args.save)}")
    return 0


def cmd_gradcheck(args: argparse.Namespace) -> int:
    if args.batch < 1:
        raise ValueError(f"--batch must be at least 1 sample, got {args.batch}.")
    X, y, n_classes = _load_data(args)
    net = _network(args, X.shape[1], n_classes)
    res = gradcheck(net, X[: args.batch], y[: args.batch], h=args.h)
    print(net)
    print(res)
    return 0 if res.passed else 1


def cmd_check(args: argparse.Namespace) -> int:
    path = Path(args.solution)
    if path.suffix != ".py" or not path.is_file():
        raise ValueError(f"expected a Python file with the course functions (SOLUTION.py), got {args.solution!r}.")
    try:  # the learner's file runs as a script would; whatever it raises is a problem of the file, not a crash
        namespace = runpy.run_path(str(path), run_name="solution")
    except (Exception, SystemExit) as exc:
        raise ValueError(f"could not run {path}: {type(exc).__name__}: {exc}; fix the file so it imports.") from None
    report = check_exercises(namespace, activation=args.activation)
    print(report)
    return 0 if report.passed else 1


def cmd_evaluate(args: argparse.Namespace) -> int:
    model = load(args.model)
    X, y, _ = _load_data(args)
    if isinstance(model, MLP):
        n_in = model.sizes[0]
        if X.shape[1] != n_in:
            raise ValueError(f"the data has {X.shape[1]} features, but the model in {args.model} expects {n_in}.")
        print(model)
        print(f"accuracy {model.accuracy(X, y):.4f}, loss {model.loss(X, y):.4f} on {len(y)} samples")
    else:
        if args.csv is not None:
            X, labels, classes = load_csv(args.csv, label=args.label, delimiter=args.delimiter)
            y = classes[labels]
        where = args.csv or f"the {args.data or 'moons'} data"
        if isinstance(model, PerceptronClassifier):
            unknown = sorted(set(np.unique(y).tolist()) - set(model.classes_.tolist()), key=str)
            if unknown:
                raise ValueError(
                    f"the labels of {where} include {unknown[:5]}, which are not classes of the model in "
                    f"{args.model} ({model.classes_.tolist()[:10]}); give data with the model's labels (--label)."
                )
        elif y.dtype.kind not in "iuf":
            raise ValueError(
                f"the label column of {where} holds text ({str(y[0])[:20]!r}); the {type(model).__name__} in "
                f"{args.model} predicts numbers: give a numeric column with --label."
            )
        print(f"{type(model).__name__}({model.net_})")
        score = "accuracy" if isinstance(model, PerceptronClassifier) else "R^2"
        if not isinstance(model, PerceptronClassifier):
            y = np.asarray(y, dtype=float)
        print(f"{score} {model.score(X, y):.4f} on {len(y)} samples")
    return 0


def cmd_playground(args: argparse.Namespace) -> int:
    if not args.host.strip():
        raise ValueError(
            "--host is empty; give an address to listen on: 127.0.0.1 (this machine only, the default) "
            "or 0.0.0.0 (every network interface)."
        )
    if not 0 < args.port < 65536:
        raise ValueError(f"--port must be in 1..65535, got {args.port}.")
    try:
        serve(args.host, args.port, open_browser=not args.no_browser)
    except OSError as exc:
        raise ValueError(f"cannot listen on {args.host}:{args.port} ({exc.strerror}); choose another --port.") from None
    return 0


def _data_args(p: argparse.ArgumentParser, network: bool = True) -> None:
    """The data options, and (``network``) those of a new network: evaluate uses the saved one."""
    g = p.add_argument_group("data")
    g.add_argument("--data", default=None, choices=sorted(DATASETS), help="built-in data set (default moons)")
    g.add_argument("--csv", type=_path, help="a CSV file with a header row instead of a built-in data set")
    g.add_argument("--delimiter", default=None, help="the CSV's cell separator (default: detected from the header)")
    g.add_argument("--label", default="-1", help="label column of the CSV: name or index (default last)")
    g.add_argument("--n", type=int, default=300, help="number of points (default 300)")
    g.add_argument("--noise", type=float, default=None, help="noise of the data set (default: its own)")
    g.add_argument("--classes", type=int, default=None, help="classes for blobs and spiral")
    if network:
        _network_args(p)
    p.add_argument("--seed", type=_nonneg_int, default=0, help="seed for data, weights and sample order (default 0)")


def _network_args(p: argparse.ArgumentParser) -> None:
    m = p.add_argument_group("network")
    m.add_argument("--hidden", type=_sizes, default=[16], help="hidden sizes, e.g. 16 or 16,8; '' for none")
    m.add_argument("--activation", default="relu", choices=list(ACTIVATIONS))
    m.add_argument("--init", default="auto", choices=["auto", "normal", "he", "glorot"])


class _Parser(argparse.ArgumentParser):
    """argparse's parser, except that help which cannot be written (``--help > /dev/full``) is an error:
    argparse's own printing drops the OSError and exits 0 as if the help had been shown."""

    def print_help(self, file: Any = None) -> None:
        out = file or sys.stdout
        if out is not None:
            out.write(self.format_help())
            out.flush()


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="perceptrons", description="Perceptrons from scratch: study, train, check.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser(
        "report", help="run the course study and write the report (HTML, PDF, SVG figures, metrics.json)"
    )
    p.add_argument("--out", default="perceptrons-report", help="output directory (default perceptrons-report/)")
    p.add_argument("--seed", type=_nonneg_int, default=0, help="seed of the whole study (default 0)")
    p.add_argument("--quick", action="store_true", help="fewer seeds and steps (for tests)")
    p.add_argument("--format", type=_formats, default=("html", "pdf"), help="html,pdf (default both)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument(
        "--jobs", type=_jobs, default=1,
        help="joblib workers for the independent trainings: 1 in this process (default), -1 all cores; "
        "the numbers are the same for any N",
    )  # fmt: skip
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("train", help="train one network and print its metrics")
    _data_args(p)
    o = p.add_argument_group("training")
    o.add_argument("--optimizer", default="sgd", choices=["sgd", "adam"])
    o.add_argument("--lr", type=float, default=0.1, help="learning rate (default 0.1)")
    o.add_argument("--momentum", type=float, default=0.0)
    o.add_argument("--alpha", type=float, default=0.0, help="L2 strength")
    o.add_argument("--batch-size", type=int, default=1, help="batch size (default 1, the course)")
    o.add_argument("--steps", type=_nonneg_int, default=0, help="steps with indices drawn with replacement")
    o.add_argument("--epochs", type=int, default=None, help="epochs of shuffled mini-batches (default 20)")
    o.add_argument("--eval-every", type=int, default=10)
    o.add_argument("--test-size", type=float, default=0.25)
    o.add_argument("--plot", type=_path, help="write curves and the decision boundary to this PNG file")
    o.add_argument("--save", type=_path, help="save the trained model to this .npz file")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="accuracy of a saved model (perceptrons.load format) on data")
    p.add_argument("model", help="a model file written by --save, MLP.save or PerceptronClassifier.save")
    _data_args(p, network=False)
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("check", help="check a learner's course functions (softmax, forward_one_layer, ...)")
    p.add_argument("solution", help="a .py file defining the course functions under the course's names")
    p.add_argument("--activation", default="relu", choices=["relu", "tanh"], help="two-layer network checked")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("playground", help="train and watch a network live in the browser")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default loopback only)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--no-browser", action="store_true", help="do not open a browser")
    p.set_defaults(func=cmd_playground)

    p = sub.add_parser("gradcheck", help="print the per-parameter gradient-check table of a network")
    _data_args(p)
    p.add_argument("--batch", type=int, default=16, help="samples in the checked batch")
    p.add_argument("--h", type=float, default=1e-5, help="step of the central differences")
    p.set_defaults(func=cmd_gradcheck)
    return parser


def _flush_stdout() -> None:
    if sys.stdout is not None:  # None when the shell closed it (>&-): there is nothing to flush
        sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except OSError as exc:  # --help into a full disk or a closed pipe
        _silence_stdout()
        if not isinstance(exc, BrokenPipeError):
            print(f"error: {exc.strerror or exc} (the standard output).", file=sys.stderr)
        return 0 if isinstance(exc, BrokenPipeError) else 2
    if getattr(args, "label", None) is not None and re.fullmatch(r"-?[0-9]+", args.label):
        args.label = int(args.label)  # an index; anything else (e.g. a name written in other digits) is a name
    try:
        status = int(args.func(args))
        _flush_stdout()  # a full disk or closed pipe is reported here, not at exit
        return status
    except BrokenPipeError:  # the reader of stdout left (| head): nothing to say, everything was saved
        _silence_stdout()
        return 0
    except USER_ERRORS as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except MemoryError:
        print("error: out of memory; choose a smaller network, batch or data set.", file=sys.stderr)
        return 2
    except OSError as exc:  # e.g. stdout is /dev/full
        _silence_stdout()
        where = exc.filename if exc.filename else "the standard output"
        print(f"error: {exc.strerror or exc} ({where}).", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
