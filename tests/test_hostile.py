"""Hostile inputs: crafted model files, special files at save paths, tricky CSVs, a closed pipe,
contradictory options, and web pages or floods aimed at the playground server.

Each probe checks a fact the input itself settles (the file holds no such array, the label text
differs, the target is a FIFO), not a number our code produced.
"""

import asyncio
import io
import json
import os
import stat
import subprocess
import sys
import tracemalloc
import zipfile

import numpy as np
import pytest
from aiohttp import ClientSession, WSMsgType

import perceptrons
import perceptrons.io as model_files
import perceptrons.report
from perceptrons import MLP
from perceptrons.datasets import load_csv, parse_csv
from perceptrons.estimator import PerceptronClassifier
from perceptrons.playground import server as pg_server
from perceptrons.playground.server import BackgroundServer

SRC = os.path.join(os.path.dirname(__file__), "..", "src")


# -- crafted model files --------------------------------------------------------------------
def _npy(arr):
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.asarray(arr), allow_pickle=False)
    return buf.getvalue()


def _write_model(path, meta, arrays, compress=zipfile.ZIP_STORED):
    text = meta if isinstance(meta, str) else json.dumps(meta)
    with zipfile.ZipFile(path, "w", compression=compress) as zf:
        zf.writestr("__meta__.npy", _npy(np.array(text)))
        for name, data in arrays.items():
            zf.writestr(f"{name}.npy", data if isinstance(data, bytes) else _npy(data))


def _mlp_meta(sizes, dtype="float64"):
    return {"format": "perceptrons-model", "version": 1, "kind": "MLP", "sizes": sizes, "activation": "relu",
            "output": "softmax", "init": "auto", "dtype": dtype}  # fmt: skip


@pytest.fixture
def no_data_read(monkeypatch):
    """Fails the test if any array other than the metadata is read."""
    real = model_files._read_data

    def spy(zf, info, shape, dtype):
        assert info.filename == "__meta__.npy", f"{info.filename} was read before the file was rejected"
        return real(zf, info, shape, dtype)

    monkeypatch.setattr(model_files, "_read_data", spy)


def test_huge_declared_sizes_are_refused_before_allocating(tmp_path, no_data_read):
    p = tmp_path / "big.npz"
    _write_model(p, _mlp_meta([30000, 30000]), {"W0": np.zeros((2, 2)), "b0": np.zeros(2)})
    assert p.stat().st_size < 4000
    with pytest.raises(ValueError, match="more than the limit"):
        perceptrons.load(p)
    # under the limit but not what the arrays hold: refused from the headers alone
    _write_model(p, _mlp_meta([3000, 3000]), {"W0": np.zeros((2, 2)), "b0": np.zeros(2)})
    with pytest.raises(ValueError, match="metadata implies"):
        perceptrons.load(p)


def _zeros_member(shape):
    """An .npy entry declaring ``shape`` float64, all zeros, written in pieces (never held in memory)."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": shape})
    return header.getvalue(), int(np.prod(shape)) * 8


def _bomb(path, meta, shape):
    header, nbytes = _zeros_member(shape)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("__meta__.npy", _npy(np.array(json.dumps(meta))))
        with zf.open("W0.npy", "w", force_zip64=True) as fh:
            fh.write(header)
            block = bytes(1 << 22)
            for _ in range(nbytes // len(block)):
                fh.write(block)
        zf.writestr("b0.npy", _npy(np.zeros(shape[1])))


def test_zip_bomb_is_refused_before_decompressing(tmp_path, no_data_read):
    p = tmp_path / "bomb.npz"
    _bomb(p, _mlp_meta([2, 2]), (8192, 4096))  # 268 MB of zeros in a file of about 260 KB
    assert p.stat().st_size < 2_000_000
    with pytest.raises(ValueError, match="metadata implies"):
        perceptrons.load(p)
    _bomb(p, _mlp_meta([8192, 4096]), (8192, 4096))  # consistent metadata: the ratio gives it away
    with pytest.raises(ValueError, match="zip bomb"):
        perceptrons.load(p)


@pytest.mark.parametrize(
    "meta, words",
    [
        ([1, 2], "JSON list"),
        (None, "JSON NoneType"),
        (3.5, "JSON float"),
        ("MLP", "JSON str"),
        (json.loads("[" * 500 + "]" * 500), "JSON list"),
        (
            {"format": "perceptrons-model", "version": 1, "kind": "MLP", "x": json.loads("[" * 500 + "]" * 500)},
            "nested too deeply",
        ),  # fmt: skip
        ({"format": "perceptrons-model", "version": "1", "kind": "MLP"}, "version"),
        ({"format": "perceptrons-model", "version": 1, "kind": ["MLP"]}, "unknown model kind"),
        ({**_mlp_meta([2, 2]), "sizes": "22"}, "sizes"),
        ({**_mlp_meta([2, 2]), "sizes": [2, -2]}, "layer size"),
        ({**_mlp_meta([2, 2]), "dtype": "(50000000,)f8"}, "dtype"),
    ],
)
def test_malformed_metadata_is_one_clear_error(tmp_path, meta, words):
    p = tmp_path / "m.npz"
    with zipfile.ZipFile(p, "w") as zf:
        zf.writestr("__meta__.npy", _npy(np.array(json.dumps(meta))))
        zf.writestr("W0.npy", _npy(np.zeros((2, 2))))
        zf.writestr("b0.npy", _npy(np.zeros(2)))
    with pytest.raises(ValueError, match=words) as err:
        perceptrons.load(p)
    assert "m.npz" in str(err.value) and "\n" not in str(err.value)


def test_huge_declared_metadata_or_array_header(tmp_path, no_data_read):
    p = tmp_path / "m.npz"
    header, _ = _zeros_member((10**12,))
    with zipfile.ZipFile(p, "w") as zf:
        hdr = io.BytesIO()
        np.lib.format.write_array_header_1_0(hdr, {"descr": "<U100000000", "fortran_order": False, "shape": ()})
        zf.writestr("__meta__.npy", hdr.getvalue())
    with pytest.raises(ValueError, match="at most"):
        perceptrons.load(p)
    with zipfile.ZipFile(p, "w") as zf:
        zf.writestr("__meta__.npy", _npy(np.array(json.dumps(_mlp_meta([2, 2])))))
        zf.writestr("W0.npy", header)
        zf.writestr("b0.npy", _npy(np.zeros(2)))
    with pytest.raises(ValueError, match="metadata implies"):
        perceptrons.load(p)


def test_object_and_structured_dtypes_are_refused(tmp_path):
    p = tmp_path / "m.npz"
    hdr = io.BytesIO()
    np.lib.format.write_array_header_1_0(hdr, {"descr": "|O", "fortran_order": False, "shape": (2, 2)})
    _write_model(p, _mlp_meta([2, 2]), {"W0": hdr.getvalue() + b"\x80\x04N.", "b0": np.zeros(2)})
    with pytest.raises(ValueError, match="dtype") as err:
        perceptrons.load(p)
    assert "allow_pickle" not in str(err.value)


def test_float64_arrays_in_a_float32_model_are_refused(tmp_path):
    p = tmp_path / "m.npz"
    _write_model(p, _mlp_meta([2, 2], "float32"), {"W0": np.full((2, 2), 1e300), "b0": np.zeros(2)})
    with pytest.raises(ValueError, match="float32"):
        perceptrons.load(p)
    _write_model(p, _mlp_meta([2, 2], "float32"), {"W0": np.full((2, 2), np.inf, np.float32), "b0": np.zeros(2, np.float32)})  # fmt: skip
    with pytest.raises(ValueError, match="finite"):
        perceptrons.load(p)
    net = MLP([2, 2], dtype=np.float32, seed=0)
    with pytest.raises(ValueError, match="finite"):
        net.params = {"W0": np.full((2, 2), 1e39), "b0": np.zeros(2)}


@pytest.fixture(scope="module")
def saved_classifier(tmp_path_factory):
    X = np.array([[0.0, 0], [1, 1], [0, 1], [1, 0]] * 5)
    y = np.array(["a", "b", "c", "a"] * 5)
    clf = PerceptronClassifier((3,), max_iter=3, random_state=0).fit(X, y)
    p = tmp_path_factory.mktemp("clf") / "clf.npz"
    clf.save(p)
    arrays, meta = model_files.load_arrays(p)
    return arrays, meta


@pytest.mark.parametrize(
    "edit, words",
    [
        (lambda m: m.update(classes=["a", "a", "c"]), "distinct"),
        (lambda m: m.update(classes=["c", "b", "a"]), "sorted"),
        (lambda m: m.update(classes_dtype="(50000000,)f8"), "classes_dtype"),
        (lambda m: m.update(classes=["abc", "b", "c"], classes_dtype="<U1"), "do not fit"),
        (lambda m: m["params"].update(hidden_layer_sizes=[5]), "hidden"),
        (lambda m: m["params"].update(learning_rate_init=-1.0), "learning_rate_init"),
        (lambda m: m["params"].update(tol=float("nan")), "tol"),
        (lambda m: m.update(n_features_in=7), "features"),
        (lambda m: m.update(loss_curve_="abc"), "loss_curve"),
        (lambda m: m.update(params=[1]), "params"),
        (lambda m: m.update(target_type="bogus"), "target_type"),
        (lambda m: m.update(target_type="binary"), "does not fit 3 classes"),
        (lambda m: m.update(classes=["a", "b"]), "does not fit 2 classes"),
        (lambda m: m.update(classes=["a"], target_type="binary"), "out_activation"),
        (lambda m: m.update(out_activation="identity"), "out_activation"),
        (lambda m: m["params"].update(activation="tanh"), "activation"),
        (lambda m: m.update(feature_names_in=["x"]), "feature_names_in"),
        (lambda m: m.update(n_features_in=2.9), "n_features_in"),
        (lambda m: m.update(kind="PerceptronRegressor"), "not what this PerceptronRegressor uses"),
    ],
)
def test_crafted_classifier_metadata_is_rejected(tmp_path, saved_classifier, edit, words):
    with pytest.raises(ValueError, match=words):
        perceptrons.load(save_edited(tmp_path, saved_classifier, edit))


def save_edited(tmp_path, saved, edit):
    """A model file of ``saved``'s arrays (``(arrays, meta)`` of a real save) with ``edit(meta)`` applied."""
    arrays, meta = saved
    meta = json.loads(json.dumps(meta))
    edit(meta)
    p = tmp_path / "edited.npz"
    model_files.save_arrays(p, arrays, {k: v for k, v in meta.items() if k not in ("format", "version")})
    return p


def _cli(*args, stdin=None, stdout=subprocess.PIPE, cwd=None):
    env = {**os.environ, "PYTHONPATH": os.path.abspath(SRC)}
    return subprocess.run(
        [sys.executable, "-m", "perceptrons", *args], stdout=stdout, stderr=subprocess.PIPE, text=True, env=env, cwd=cwd
    )


def _one_error_line(proc):
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert "Traceback" not in proc.stderr
    return lines[0]


def test_cli_evaluate_on_hostile_files(tmp_path):
    csv = tmp_path / "data.csv"
    csv.write_text("a,b,label\n1,2,x\n3,4,y\n")
    bad_meta = tmp_path / "list.npz"
    _write_model(bad_meta, [1, 2, 3], {})
    deep = tmp_path / "deep.npz"
    _write_model(deep, json.dumps(_mlp_meta([2, 2]))[:-1] + ', "x": ' + "[" * 5000 + "]" * 5000 + "}", {})
    for f in (csv, bad_meta, deep):
        line = _one_error_line(_cli("evaluate", str(f)))
        assert "allow_pickle" not in line and str(f.name) in line


# -- saving ---------------------------------------------------------------------------------
def test_save_follows_a_symlink_to_its_regular_target(tmp_path):
    target = tmp_path / "real.npz"
    MLP([2, 2], seed=0).save(target)
    link = tmp_path / "link.npz"
    link.symlink_to(target)
    net = MLP([2, 3, 2], seed=1)
    net.save(link)
    assert link.is_symlink() and perceptrons.load(target).sizes == [2, 3, 2]
    (tmp_path / "dangling.npz").symlink_to(tmp_path / "nowhere" / "x.npz")
    with pytest.raises(ValueError, match="does not exist"):
        net.save(tmp_path / "dangling.npz")


def test_save_never_replaces_a_fifo_or_device(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    net = MLP([2, 2], seed=0)
    with pytest.raises(ValueError, match="FIFO"):
        net.save(fifo)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    dev = tmp_path / "dev"
    dev.symlink_to("/dev/null")  # a symlink to a device: the device must stay one, the link a link
    with pytest.raises(ValueError, match="character device"):
        net.save(dev)
    assert dev.is_symlink() and stat.S_ISCHR(os.stat("/dev/null").st_mode)
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def test_cli_save_to_a_device_is_one_error_line(tmp_path):
    dev = tmp_path / "full"
    dev.symlink_to("/dev/full")
    line = _one_error_line(_cli("train", "--epochs", "1", "--save", str(dev)))
    assert "not a regular file" in line
    assert dev.is_symlink() and stat.S_ISCHR(os.stat("/dev/full").st_mode)


@pytest.mark.parametrize("umask, new_mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_saved_files_respect_the_umask_like_open(tmp_path, umask, new_mode):
    old = os.umask(umask)
    try:
        MLP([2, 2], seed=0).save(tmp_path / "new.npz")
        with open(tmp_path / "by_open", "w"):
            pass
        existing = tmp_path / "old.npz"
        existing.write_bytes(b"")
        os.chmod(existing, 0o640)
        MLP([2, 2], seed=0).save(existing)
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "new.npz").st_mode) == new_mode
    assert stat.S_IMODE(os.stat(tmp_path / "by_open").st_mode) == new_mode
    assert stat.S_IMODE(os.stat(existing).st_mode) == 0o640  # open() keeps an existing file's mode


def test_closed_stdout_still_saves_and_is_quiet(tmp_path):
    save = tmp_path / "m.npz"
    env = {**os.environ, "PYTHONPATH": os.path.abspath(SRC)}
    cmd = [sys.executable, "-m", "perceptrons", "train", "--epochs", "1", "--save", str(save)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    proc.stdout.close()  # like `| head -0`: the reader is gone before anything is printed
    err = proc.stderr.read().decode()
    proc.wait()
    assert "Traceback" not in err and "BrokenPipe" not in err, err
    assert perceptrons.load(save).sizes == [2, 16, 2]


def test_full_stdout_is_one_error_line(tmp_path):
    with open("/dev/full", "w") as full:
        proc = _cli("train", "--epochs", "1", stdout=full)
    assert "No space left" in _one_error_line(proc)


def test_interrupted_report_leaves_the_previous_one(tmp_path):
    out = tmp_path / "report"
    out.mkdir()
    (out / "metrics.json").write_text('{"run": 1}')
    (out / "index.html").write_text("run 1")

    def half_then_interrupt(tmp):
        (tmp / "metrics.json").write_text('{"run": 2}')
        raise KeyboardInterrupt

    owns = perceptrons.report.report_file
    with pytest.raises(KeyboardInterrupt):
        model_files.replace_dir(out, half_then_interrupt, owns)
    assert (out / "metrics.json").read_text() == '{"run": 1}' and (out / "index.html").read_text() == "run 1"
    assert sorted(os.listdir(tmp_path)) == ["report"]
    model_files.replace_dir(out, lambda tmp: (tmp / "metrics.json").write_text('{"run": 3}'), owns)
    assert os.listdir(out) == ["metrics.json"]  # no file of run 1 beside run 3's
    (out / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="notes.txt"):
        model_files.replace_dir(out, lambda tmp: None, owns)
    assert (out / "notes.txt").read_text() == "mine"


# -- CSV ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "labels",
    [
        ["inf", "-inf"],
        ["1e20", "2e20", "3e20"],
        [str(2**53), str(2**53 + 1)],
        ["1", "01", "1.0", "+1"],
        ["nan", "NaN"],
        ["a\nb", "a\u2028b", "a\x0cb", "a b"],
    ],
)
def test_distinct_labels_stay_distinct_and_exact(labels):
    text = "x,label\n" + "".join(f'{i},"{v}"\n' for i, v in enumerate(labels))
    X, y, classes = parse_csv(text)
    assert len(X) == len(labels)
    assert [str(c) for c in classes[y]] == labels


def test_integer_labels_stay_integers():
    X, y, classes = parse_csv(f"x,label\n0,-3\n1,{2**53 + 1}\n2,7\n")
    assert classes.dtype == np.int64 and classes[y].tolist() == [-3, 2**53 + 1, 7]


def test_semicolon_files_are_detected_or_explained(tmp_path):
    X, y, classes = parse_csv("a;b;label\n1.5;2;x\n3;4;y\n")
    assert X.tolist() == [[1.5, 2.0], [3.0, 4.0]] and classes.tolist() == ["x", "y"]
    with pytest.raises(ValueError, match="semicolon-separated; use --delimiter ';'"):
        parse_csv("a;b;label\n1;2;x\n", delimiter=",")
    p = tmp_path / "semi.csv"
    p.write_text("a;b;label\n1;2;x\n3;4;y\n")
    assert "semicolon" in _one_error_line(_cli("train", "--csv", str(p), "--delimiter", ","))


def test_csv_errors_name_the_line(tmp_path):
    with pytest.raises(ValueError, match="line 4.*ragged"):
        parse_csv('a,b\n1,"x\ny"\n2,y,3\n')
    with pytest.raises(ValueError, match="line 3, column 1.*'oops'"):
        parse_csv("a,b\n1,x\noops,y\n")
    with pytest.raises(ValueError, match="field larger"):
        parse_csv("a,b\n1," + "x" * 200_000 + "\n")


def test_csv_memory_grows_with_the_data_not_the_text(tmp_path):
    rng = np.random.default_rng(0)
    n = 100_000
    X = rng.standard_normal((n, 4))
    p = tmp_path / "big.csv"
    with open(p, "w") as fh:
        fh.write("a,b,c,d,label\n")
        for row, lab in zip(X.round(6), rng.integers(0, 5, n)):
            fh.write(",".join(map(str, row)) + f",{lab}\n")
    size = p.stat().st_size
    tracemalloc.start()
    Xr, y, classes = load_csv(p)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    np.testing.assert_array_equal(Xr, X.round(6))
    # X is 32 bytes a row against the file's ~45; joining the chunks doubles it for a moment
    assert peak < 3 * size, (peak, size)


# -- CLI options ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "args, words",
    [
        (["gradcheck", "--batch", "-1"], "--batch"),
        (["gradcheck", "--data", "blobs", "--classes", "0"], "--classes"),
        (["train", "--steps", "5", "--epochs", "2"], "--steps and --epochs"),
        (["train", "--csv", "x.csv", "--data", "moons"], "--csv and --data"),
        (["train", "--hidden", "100000,100000"], "GB"),
        (["train", "--steps", str(10**15)], "GB"),
        (["train", "--plot", "/tmp"], "directory"),
        (["train", "--steps", "10", "--batch-size", "0"], "batch_size"),
    ],
)
def test_cli_contradictions_and_impossible_sizes(args, words):
    assert words in _one_error_line(_cli(*args))


# -- the playground server ------------------------------------------------------------------
async def _connect(http, url, **headers):
    return await http.ws_connect(url + "ws", headers=headers, max_msg_size=0)


async def _reply(ws, kind=None, timeout=20):
    while True:
        msg = await ws.receive(timeout=timeout)
        assert msg.type == WSMsgType.TEXT, msg
        m = json.loads(msg.data)
        if kind is None or m["type"] == kind or m["type"] == "error":
            return m


@pytest.fixture(scope="module")
def server():
    with BackgroundServer() as s:
        yield s


def test_foreign_origins_and_hosts_are_refused(server):
    url = server.url
    port = url.rsplit(":", 1)[1].rstrip("/")

    async def run():
        async with ClientSession() as http:
            for headers in (
                {"Origin": "https://evil.example.com"},
                {"Origin": "null"},
                {"Origin": f"http://127.0.0.1:{int(port) + 1}"},
                {"Host": f"evil.example.com:{port}", "Origin": f"http://evil.example.com:{port}"},
            ):
                with pytest.raises(Exception, match="403"):
                    await _connect(http, url, **headers)
            async with http.get(url, headers={"Host": f"rebind.example.com:{port}"}) as r:
                assert r.status == 403 and "refused" in await r.text()
            ws = await _connect(http, url, Origin=f"http://127.0.0.1:{port}")  # the page itself
            assert (await _reply(ws))["type"] == "hello"
            await ws.close()
            ws = await _connect(http, url, Host=f"localhost:{port}", Origin=f"http://localhost:{port}")
            assert (await _reply(ws))["type"] == "hello"
            await ws.close()

    asyncio.run(run())


@pytest.mark.parametrize(
    "text, words",
    [
        ('{"type": "lr", "value": -Infinity}', "not a number JSON allows"),
        ('{"type": "config", "config": {"lr": NaN}}', "not a number JSON allows"),
        ('{"type": "config", "config": {"dataset": "custom", "points": [[1e308, 0, 0], [0, 1, 1]]}}', "|x|"),
        ('{"type": "config", "config": {"dataset": "custom", "points": [[0, 0, 0.5], [0, 1, 1.7]]}}', "integer"),
        ('{"type": "config", "config": {"dataset": "csv", "csv": "a,b,c\\n1,2,x\\n", "label": {"a": 1}}}', "label"),
        ('{"type": "config", "config": {"dataset": "csv", "csv": "a,b,c\\n1,2,x\\n", "label": [0]}}', "label"),
        ('{"type": "' + "x" * 100_000 + '"}', "'xxxxxxxxxx"),  # shown shortened, not echoed in full
        ('{"type": "config", "config": {"lr": 1' + "0" * 400 + "}}", "401 digits"),  # no OverflowError
        ('{"type": "config", "config": {"lr": ' + "9" * 5000 + "}}", "5000 digits"),  # past Python's int limit
        ('{"type": "config", "config": {"lr": 1' + "0" * 25 + "}}", "integer of about 26 digits"),
    ],
)
def test_hostile_messages_get_short_specific_errors(server, text, words):
    async def run():
        async with ClientSession() as http:
            ws = await _connect(http, server.url)
            await _reply(ws)
            await ws.send_str(text)
            m = await _reply(ws)
            assert m["type"] == "error" and words in m["message"] and len(m["message"]) < 300, m
            assert "internal error" not in m["message"]
            await ws.close()

    asyncio.run(run())


def test_size_limit_counts_bytes_not_characters(server):
    async def run():
        async with ClientSession() as http:
            ws = await _connect(http, server.url)
            await _reply(ws)
            text = '{"type": "python", "pad": "' + "\u00e9" * 800_000 + '"}'  # 800k characters, 1.6 MB
            assert len(text) < pg_server.MAX_MESSAGE < len(text.encode())
            await ws.send_str(text)
            m = await _reply(ws)
            assert m["type"] == "error" and "larger than the limit" in m["message"]
            await ws.close()

    asyncio.run(run())


def test_one_session_training_does_not_block_another(server, monkeypatch):
    """While one session's training job runs (held open here), another session is still served."""
    import threading

    from perceptrons.playground import session as pg_session

    release = threading.Event()
    started = threading.Event()
    real = pg_session.Session.train_slice

    def held_slice(self, *args):
        if self.config["init_seed"] == 7:
            started.set()
            assert release.wait(30)
        return real(self, *args)

    monkeypatch.setattr(pg_session.Session, "train_slice", held_slice)

    async def run():
        async with ClientSession() as http:
            a = await _connect(http, server.url)
            b = await _connect(http, server.url)
            await _reply(a)
            await _reply(b)
            await a.send_str(json.dumps({"type": "config", "config": {"init_seed": 7}}))
            await _reply(a, "frame")
            await b.send_str(json.dumps({"type": "config", "config": {}}))
            await _reply(b, "frame")
            for _ in range(20):
                await a.send_str('{"type": "step"}')
            while not started.is_set():
                await asyncio.sleep(0.01)
            await b.send_str('{"type": "step"}')  # served while a's epoch is held open
            assert (await _reply(b, "frame", timeout=20))["type"] == "frame"
            release.set()
            await a.close()
            await b.close()

    try:
        asyncio.run(run())
    finally:
        release.set()


def test_a_frame_that_fails_is_reported_and_the_session_goes_on(server, monkeypatch):
    from perceptrons.playground import session as pg_session

    real = pg_session.Session.frame_parts  # what the server runs, part by part
    calls = {"n": 0}

    def flaky(self, with_gradcheck=True):
        calls["n"] += 1
        n = calls["n"]
        for part in real(self, with_gradcheck):
            if n == 3:
                raise FloatingPointError("boom")
            if part is not None and n == 4:
                part["gradcheck"] = {"max_rel_error": float("nan")}  # a NaN that JSON cannot carry
            yield part

    monkeypatch.setattr(pg_session.Session, "frame_parts", flaky)

    async def run():
        async with ClientSession() as http:
            ws = await _connect(http, server.url)
            await _reply(ws)
            await ws.send_str('{"type": "config", "config": {}}')
            await _reply(ws, "frame")
            await ws.send_str('{"type": "play"}')
            await _reply(ws, "frame")
            m = await _reply(ws, "error")
            assert m["type"] == "error" and "paused" in m["message"]
            await ws.send_str('{"type": "play"}')
            m = await _reply(ws, "frame")
            assert m["type"] == "frame" and m["gradcheck"]["max_rel_error"] is None
            await ws.close()

    asyncio.run(run())


def test_per_address_limit_and_idle_expiry(monkeypatch):
    monkeypatch.setattr(pg_server, "MAX_PER_CLIENT", 3)
    monkeypatch.setattr(pg_server, "IDLE_S", 0.4)

    async def run(url):
        async with ClientSession() as http:
            conns = [await _connect(http, url) for _ in range(3)]
            for c in conns:
                await _reply(c)
            extra = await _connect(http, url)
            m = await _reply(extra)
            assert m["type"] == "error" and "close some tabs" in m["message"]
            msg = await conns[0].receive(timeout=20)  # nobody speaks: the idle sessions are closed
            assert msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSED) and conns[0].close_code == 1001

    with BackgroundServer() as s:
        asyncio.run(run(s.url))


def test_shutdown_closes_the_sockets():
    s = BackgroundServer().__enter__()

    async def run():
        async with ClientSession() as http:
            ws = await _connect(http, s.url)
            await _reply(ws)
            await ws.send_str('{"type": "config", "config": {}}')
            await ws.send_str('{"type": "play"}')
            await _reply(ws, "frame")
            await asyncio.get_running_loop().run_in_executor(None, s.stop)
            while True:
                msg = await ws.receive(timeout=10)
                if msg.type != WSMsgType.TEXT:
                    break
            assert msg.type == WSMsgType.CLOSE and msg.data == 1001  # "going away", at once

    asyncio.run(run())
