"""Saving and loading models: NumPy ``.npz`` with a JSON metadata entry, never pickle.

The file holds the arrays (``W0, b0, ...``) and ``__meta__``, a JSON string with the format name,
format version, and what is needed to rebuild the object (sizes, activation, classes...). Each model
says how it is written (``to_file``), which arrays its metadata implies (``LAYOUTS``) and how it is
read (``READERS``); :func:`load` dispatches on the metadata's ``kind``. This module imports nothing
from the package.

A model file is untrusted input. Loading reads the zip directory, then the metadata (bounded in
size and nesting), then each array's ``.npy`` header, and checks every declared name, shape and
dtype against what the metadata implies and against :data:`MAX_BYTES` *before* reading any data;
the data is then read member by member, exactly the declared number of bytes each. So loading
costs time and memory in proportion to the model the file really holds, whatever the file claims.

Writing (:func:`atomic_write`) goes to a temporary file in the target's directory, then
``os.replace``: an interrupted save leaves the previous file intact. Only regular files are
replaced (a symlink is followed to its regular target; a FIFO, device or directory is refused), and
the new file gets the permissions ``open()`` would give it (the old file's mode, or 0666 less the
umask).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import stat
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import numpy as np
from numpy.lib import format as npy

FORMAT = "perceptrons-model"
VERSION = 1
#: the most array data a model file may declare (bytes); ``load(path, max_bytes=...)`` raises it
MAX_BYTES = 2**31
MAX_META_CHARS = 1_000_000  # the JSON metadata: sizes, classes, a loss curve; never megabytes
MAX_META_DEPTH = 32
MAX_MEMBERS = 10_000
_CHUNK = 1 << 20  # bytes read at a time
MAX_RATIO = 50  # uncompressed / compressed size of the arrays: weights barely compress
_NPY_HEADER_MAX = 10_000  # numpy's own default limit for a header

Layout = dict[str, tuple[tuple[int, ...], np.dtype]]

#: model kind (the metadata's ``"kind"``) -> ``from_file(arrays, meta)``; each model class adds itself
#: when its module is imported (this module imports nothing from the package).
READERS: dict[str, Callable[[dict[str, np.ndarray], dict[str, Any]], Any]] = {}
#: model kind -> ``file_layout(meta)``: ``{name: (shape, dtype)}`` of the arrays the metadata implies
#: (raises ValueError if the metadata is malformed); checked against the file before any data is read.
LAYOUTS: dict[str, Callable[[dict[str, Any]], Layout]] = {}


# -- writing ------------------------------------------------------------------------------------
def writable_target(path: str | Path) -> Path:
    """The regular file that writing to ``path`` replaces (a symlink resolved), or a clear ValueError.

    Refuses a directory, a FIFO, a device or socket, a dangling symlink, and a missing directory.
    """
    text = os.fspath(path)
    if not str(text).strip():
        raise ValueError("the file name is empty; give a file name like model.npz.")
    if str(text).endswith(("/", os.sep)):
        raise ValueError(f"cannot write {str(text)!r}: it names a folder (it ends with a slash); give a file name.")
    path = Path(path)
    try:
        real = path.resolve()
    except (RuntimeError, OSError) as exc:  # a symlink loop (RuntimeError before Python 3.13, OSError after)
        raise ValueError(f"cannot write {str(path)!r}: {exc}; it is a symlink loop or unreachable.") from None
    if path.is_symlink() and not real.exists():
        raise ValueError(f"cannot write {str(path)!r}: it is a symlink to {str(real)!r}, which does not exist.")
    if real.exists():
        mode = real.stat().st_mode
        if stat.S_ISDIR(mode):
            raise ValueError(f"cannot write {str(path)!r}: it is a directory; give a file name like model.npz.")
        if not stat.S_ISREG(mode):
            raise ValueError(
                f"cannot write {str(path)!r}: it is not a regular file (a {_file_kind(mode)}); "
                "only regular files are replaced. Give the path of a file."
            )
    elif not real.parent.is_dir():
        raise ValueError(f"cannot write {str(path)!r}: the directory {str(real.parent)!r} does not exist.")
    return real


def _file_kind(mode: int) -> str:
    kinds = ((stat.S_ISFIFO, "FIFO"), (stat.S_ISCHR, "character device"), (stat.S_ISBLK, "block device"))
    return next((name for test, name in kinds if test(mode)), "socket or other special file")


def atomic_write(path: str | Path, write: Callable[[IO[bytes]], None]) -> Path:
    """Call ``write(fh)`` on a temporary file beside ``path``, then rename it over ``path``.

    The target must be (or become) a regular file, see :func:`writable_target`. The file gets the
    mode ``open()`` would give: an existing file's mode, or 0666 less the umask (the temporary file
    is created with that mode, so the kernel applies the umask). Returns the path written.
    """
    real = writable_target(path)
    mode = stat.S_IMODE(real.stat().st_mode) if real.exists() else 0o666
    tmp = real.parent / f".{real.name}.{secrets.token_hex(6)}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(tmp, flags, mode)
    except OSError as exc:  # named by the target the user gave, not our temporary name
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            if real.exists():
                os.chmod(fh.fileno(), mode)  # the umask does not apply when overwriting, as with open()
            os.fsync(fh.fileno())
        os.replace(tmp, real)
    except OSError as exc:  # a full disk, a quota: say which file could not be written
        tmp.unlink(missing_ok=True)
        if exc.filename not in (None, str(tmp)):
            raise
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return real


def check_replaceable_dir(out: str | Path, owns: Callable[[str], bool]) -> Path:
    """``out`` as an absolute path if :func:`replace_dir` may replace it, else a clear ValueError."""
    out = Path(out).absolute()
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise ValueError(f"cannot write the folder {str(out)!r}: it exists and is not a folder; choose another path.")
    base = out.parent
    while not base.exists():  # the nearest folder that exists: the new ones are made in it
        base = base.parent
    if not base.is_dir():
        raise ValueError(f"cannot write the folder {str(out)!r}: {str(base)!r} is a file, not a folder.")
    try:  # a folder the report can really be built in (not /proc, /sys, a read-only mount), tried now
        os.rmdir(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".probe", dir=base))
    except OSError as exc:
        raise ValueError(f"cannot write the folder {str(out)!r}: {exc.strerror} in {str(base)!r}.") from None
    if out.exists():
        foreign = sorted(p.name for p in out.iterdir() if not (p.is_file() and owns(p.name)))
        if foreign:
            raise ValueError(
                f"cannot write into {str(out)!r}: it holds {foreign[:5]}, which this program did not write; "
                "choose a new or empty folder."
            )
    return out


def replace_dir(out: str | Path, fill: Callable[[Path], Any], owns: Callable[[str], bool]) -> Path:
    """Build a folder with ``fill(tmp)`` in a temporary folder beside ``out``, then swap it in.

    An interrupted ``fill`` leaves ``out`` as it was (never files of two runs side by side); the
    previous folder is removed only once the new one is in place. ``out`` must be absent or a folder
    holding only files ``owns(name)`` accepts (what an earlier run wrote): nothing else is ever removed.
    Returns ``out``; ``fill``'s own return value is dropped.
    """
    out = check_replaceable_dir(out, owns)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.{secrets.token_hex(6)}.tmp"
    tmp.mkdir()  # mode 0777 less the umask, as any folder
    try:
        fill(tmp)
        if out.exists():
            old = out.parent / f".{out.name}.{secrets.token_hex(6)}.old"
            os.rename(out, old)
            os.rename(tmp, out)
            shutil.rmtree(old)
        else:
            os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def save_arrays(path: str | Path, arrays: dict[str, Any], meta: dict[str, Any]) -> None:
    """Atomically write ``arrays`` and JSON ``meta`` to ``path`` (an ``.npz`` file)."""
    header = json.dumps({"format": FORMAT, "version": VERSION, **meta})
    payload = {k: np.asarray(v) for k, v in arrays.items()}
    atomic_write(path, lambda fh: np.savez(fh, __meta__=np.array(header), **payload))  # type: ignore[arg-type]


# -- reading ------------------------------------------------------------------------------------
def _gb(n: float) -> str:
    return f"{n / 1e9:.2f} GB" if n >= 1e8 else f"{n / 1e6:.2f} MB"


def _depth(obj: Any) -> int:
    """Nesting depth of a parsed JSON value, without recursion."""
    deepest, stack = 0, [(obj, 1)]
    while stack:
        item, d = stack.pop()
        deepest = max(deepest, d)
        if isinstance(item, dict):
            stack.extend((v, d + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, d + 1) for v in item)
    return deepest


def _read_header(zf: zipfile.ZipFile, info: zipfile.ZipInfo, where: str) -> tuple[tuple[int, ...], np.dtype, int]:
    """Shape, dtype and header length of one ``.npy`` member, reading only its header."""
    with zf.open(info) as fh:
        try:
            version = npy.read_magic(fh)
            if version == (1, 0):
                shape, fortran, dtype = npy.read_array_header_1_0(fh, max_header_size=_NPY_HEADER_MAX)
            elif version == (2, 0):
                shape, fortran, dtype = npy.read_array_header_2_0(fh, max_header_size=_NPY_HEADER_MAX)
            else:
                raise ValueError(f"it has .npy version {version}, expected 1.0 or 2.0")
        except (ValueError, TypeError, SyntaxError, EOFError):  # NumPy's own words name its internals
            raise ValueError(
                f"{where}: entry {info.filename!r} is not a readable array (its .npy header is missing, cut "
                "short or malformed); the file is corrupted or was not written by perceptrons."
            ) from None
        header_len = fh.tell()
    if dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None:
        raise ValueError(
            f"{where}: array {info.filename!r} has dtype {dtype}; model files hold plain numbers and text only."
        )
    if fortran and len(shape) > 1:
        raise ValueError(f"{where}: array {info.filename!r} is stored in Fortran order; perceptrons writes C order.")
    return tuple(int(s) for s in shape), dtype, header_len


def _read_data(zf: zipfile.ZipFile, info: zipfile.ZipInfo, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """Exactly the declared bytes of one member (its size was checked against its header before)."""
    out = np.empty(shape, dtype=dtype)
    buf = out.reshape(-1).view(np.uint8).data  # filled chunk by chunk: no second copy of the data
    with zf.open(info) as fh:
        fh.seek(info.file_size - len(buf))  # past the header: _check_size made this exact
        done = 0
        while done < len(buf):
            chunk = fh.read(min(_CHUNK, len(buf) - done))
            if not chunk:
                raise zipfile.BadZipFile(f"array {info.filename!r} is truncated")
            buf[done : done + len(chunk)] = chunk
            done += len(chunk)
    return out


def _members(zf: zipfile.ZipFile, where: str) -> dict[str, zipfile.ZipInfo]:
    infos = zf.infolist()
    if len(infos) > MAX_MEMBERS:
        raise ValueError(f"{where}: not a perceptrons model file ({len(infos)} entries; a model has far fewer).")
    members: dict[str, zipfile.ZipInfo] = {}
    for info in infos:
        name = info.filename[:-4] if info.filename.endswith(".npy") else ""
        if not name.replace("_", "a").isalnum() or info.is_dir():
            raise ValueError(f"{where}: not a perceptrons model file (unexpected entry {info.filename[:80]!r}).")
        if name in members:
            raise ValueError(f"{where}: not a perceptrons model file (entry {info.filename!r} appears twice).")
        if info.flag_bits & 0x1:
            raise ValueError(f"{where}: not a perceptrons model file (entry {info.filename!r} is encrypted).")
        members[name] = info
    return members


def _read_meta(zf: zipfile.ZipFile, info: zipfile.ZipInfo | None, where: str) -> dict[str, Any]:
    if info is None:
        raise ValueError(f"{where}: not a perceptrons model file (no __meta__ entry); was it saved by perceptrons?")
    shape, dtype, header_len = _read_header(zf, info, where)
    if shape != () or dtype.kind != "U" or dtype.itemsize // 4 > MAX_META_CHARS:
        raise ValueError(
            f"{where}: the metadata entry must be one JSON string of at most {MAX_META_CHARS} characters, "
            f"got shape {shape}, dtype {dtype}."
        )
    _check_size(info, shape, dtype, header_len, where)
    text = str(_read_data(zf, info, shape, dtype)[()])
    try:
        meta = json.loads(text)
    except RecursionError:
        raise ValueError(f"{where}: the metadata is nested too deeply (at most {MAX_META_DEPTH} levels).") from None
    except ValueError as exc:  # not JSON, or an integer of more digits than Python converts
        raise ValueError(f"{where}: the metadata of this model file is corrupted ({_short(exc)[:120]}).") from None
    if not isinstance(meta, dict):
        raise ValueError(f"{where}: not a perceptrons model file (its metadata is a JSON {type(meta).__name__}).")
    if _depth(meta) > MAX_META_DEPTH:
        raise ValueError(f"{where}: the metadata is nested too deeply (at most {MAX_META_DEPTH} levels).")
    if meta.get("format") != FORMAT:
        raise ValueError(f"{where}: not a perceptrons model file (format {str(meta.get('format'))[:80]!r}).")
    version = meta.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValueError(f"{where}: the metadata has no valid format version (got {str(version)[:80]!r}).")
    if version > VERSION:
        raise ValueError(
            f"{where}: written by a newer perceptrons (file format version {version}, this one reads "
            f"up to {VERSION}); upgrade perceptrons to load it."
        )
    return meta


def _check_size(info: zipfile.ZipInfo, shape: tuple[int, ...], dtype: np.dtype, header_len: int, where: str) -> None:
    """The member's size in the zip directory must be its header + the declared data, to the byte."""
    nbytes = int(np.prod(shape, dtype=object)) * dtype.itemsize
    if info.file_size != header_len + nbytes:
        raise ValueError(
            f"{where}: array {info.filename!r} declares {header_len} bytes of header and {nbytes} of data, "
            f"but its entry holds {info.file_size} bytes (truncated, padded or crafted); it was not read."
        )


def load_arrays(path: str | Path, max_bytes: int = MAX_BYTES) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read a file written by :func:`save_arrays`, checking everything before reading data.

    Returns ``(arrays, meta)``. Raises ValueError (naming the file, what was expected and what was
    found) for anything that is not a well-formed model file, and for a model whose arrays would
    take more than ``max_bytes``.
    """
    path = Path(path)
    where = str(path)
    if not path.is_file():
        raise ValueError(f"model file {where!r} does not exist or is not a regular file.")
    if not zipfile.is_zipfile(path):
        raise ValueError(
            f"{where}: not a perceptrons model file (not a .npz archive: a different kind of file, or truncated or corrupted?); give a file written by "
            "MLP.save, PerceptronClassifier.save or perceptrons train --save."
        )
    try:
        with zipfile.ZipFile(path) as zf:
            members = _members(zf, where)
            meta = _read_meta(zf, members.pop("__meta__", None), where)
            layout = _layout_of(meta, where)
            headers = _check_headers(zf, members, layout, max_bytes, where)
            arrays = {name: _read_data(zf, members[name], shape, dtype) for name, (shape, dtype) in headers.items()}
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, NotImplementedError) as exc:
        raise ValueError(f"{where}: not a readable perceptrons model file (truncated or corrupted?): {exc}") from None
    return arrays, meta


def _layout_of(meta: dict[str, Any], where: str) -> Layout | None:
    kind = meta.get("kind")
    if not isinstance(kind, str) or kind not in READERS:
        raise ValueError(f"{where}: unknown model kind {str(kind)[:80]!r} in this file (known: {sorted(READERS)}).")
    if kind not in LAYOUTS:
        return None
    try:
        return LAYOUTS[kind](meta)
    except (KeyError, ValueError, TypeError) as exc:
        raise ValueError(f"{where}: the model file's metadata is inconsistent: {_short(exc)}") from None


def _check_headers(
    zf: zipfile.ZipFile, members: dict[str, zipfile.ZipInfo], layout: Layout | None, max_bytes: int, where: str
) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """Each member's header against the layout the metadata implies and the size limit; no data read."""
    if layout is not None:
        declared = sum(int(np.prod(s, dtype=object)) * np.dtype(d).itemsize for s, d in layout.values())
        if declared > max_bytes:
            raise ValueError(
                f"{where}: the metadata declares a model of {_gb(declared)}, more than the limit of "
                f"{_gb(max_bytes)}; if you trust this file, load it with max_bytes={declared}."
            )
        if set(members) != set(layout):
            raise ValueError(
                f"{where}: the model file's arrays {sorted(members)[:20]} do not match its metadata, "
                f"which implies {sorted(layout)[:20]}."
            )
    headers = {}
    total = 0
    for name, info in members.items():
        shape, dtype, header_len = _read_header(zf, info, where)
        if layout is not None and (shape, dtype) != (layout[name][0], np.dtype(layout[name][1])):
            want_shape, want_dtype = layout[name]
            raise ValueError(
                f"{where}: array {name!r} is {_dtype_words(dtype)} of shape {shape}, but the metadata implies "
                f"{_dtype_words(np.dtype(want_dtype))} of shape {want_shape}; the file is inconsistent."
            )
        if dtype.kind not in "biuf":
            raise ValueError(f"{where}: array {name!r} has dtype {dtype}; model arrays hold numbers.")
        _check_size(info, shape, dtype, header_len, where)
        total += info.file_size
        if total > max_bytes:
            raise ValueError(
                f"{where}: the arrays take more than the limit of {_gb(max_bytes)}; if you trust this "
                f"file, raise max_bytes."
            )
        headers[name] = (shape, dtype)
    packed = sum(info.compress_size for info in members.values())
    if total > max(MAX_RATIO * packed, 2**26):
        raise ValueError(
            f"{where}: the arrays would expand from {_gb(packed)} to {_gb(total)} (more than {MAX_RATIO}x); model "
            "weights do not compress like that, so the file is crafted (a zip bomb?) and was not read."
        )
    return headers


def _dtype_words(dtype: np.dtype) -> str:
    """``float64 (little-endian, '<f8')``: the name alone hides a byte order that differs."""
    order = {"<": "little-endian", ">": "big-endian"}.get(dtype.str[0])
    return f"{dtype.name} ({order}, {dtype.str!r})" if order else f"{dtype.name} ({dtype.str!r})"


def _short(exc: BaseException) -> str:
    text = str(exc)
    if isinstance(exc, KeyError) and len(text) > 1 and text[0] == text[-1] and text[0] in "'\"":
        text = text[1:-1]  # a KeyError's str is the quoted key; other messages keep their quotes
    return text if len(text) <= 300 else text[:300] + "..."


def load(path: str | Path, max_bytes: int = MAX_BYTES, *, xp: Any = None, device: Any = None) -> Any:
    """Load what was saved: an :class:`~perceptrons.MLP` or a fitted estimator.

    ``max_bytes`` bounds the array data the file may declare (default 2 GiB). ``xp`` (an array library
    module: ``torch``, ``cupy``, ``array_api_strict``, ``numpy``) and ``device`` put a network's
    parameters there (``MLP.to``); estimators follow scikit-learn's ``array_api_dispatch`` instead.
    """
    arrays, meta = load_arrays(path, max_bytes)
    reader = READERS[meta["kind"]]
    try:
        obj = reader(arrays, meta)
    except (KeyError, ValueError, TypeError, IndexError, AttributeError, OverflowError) as exc:
        raise ValueError(f"{path}: the model file is inconsistent: {_short(exc)}") from None
    if xp is None and device is None:
        return obj
    if not callable(getattr(obj, "to", None)):
        raise TypeError(
            f"{path} holds a {type(obj).__name__}, which is not loaded onto a library or device; "
            f"load it without xp=/device= (estimators compute in their inputs' namespace under "
            f"sklearn.set_config(array_api_dispatch=True))."
        )
    if xp is None:
        raise TypeError(
            "device= needs xp= too: the library whose device it is, e.g. load(path, xp=torch, device='cuda')."
        )
    return obj.to(xp, device)
