"""The model file: an ``.npz`` archive of a format marker, the config as JSON, and the weights;
and, for a trained model, what resumes its training: the optimizer's state (its arrays and a
JSON member of its numbers) and the random generator's state (see `_training_state`).

Writing is atomic: a temporary file beside the target, flushed to disk, renamed over it.

Reading trusts nothing in the file. It reads only the members the format defines, and checks
each one's declared size (the zip header, then the ``.npy`` header's shape and dtype) against
the archive's size and against what the config implies before decompressing it: a small file
never costs much memory, and a file whose config implies weights it does not hold is refused
before the model is built. Arrays are read with ``allow_pickle=False``: no code runs from a
file. Every way a file can be broken ends in `ModelFileError`.
"""

from __future__ import annotations

import ast
import inspect
import json
import math
import os
import re
import secrets
import stat
import struct
import zipfile
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol, TypeVar

import numpy as np

from ._errors import ModelFileError

if TYPE_CHECKING:
    from .layers import Layer

__all__ = ["FILE_FORMAT", "load", "save"]

FILE_FORMAT = "dualgrad-model/1"

_FORMAT_LIMIT = 1 << 12  # bytes: the marker's member
_CONFIG_LIMIT = 1 << 22  # bytes: the config's member (a million characters of JSON)
_DEFLATE_RATIO = 1032  # deflate's largest possible expansion, output bytes per input byte
_EXPANSION = 16  # what the defined members may expand to, in all, per byte of the file
_HEADER_LIMIT = 10_000  # bytes: an .npy header (NumPy's own limit)
# the .npy versions: how the header's length is stored, and the header's encoding
_NPY_VERSIONS = {1: ("<H", "latin1"), 2: ("<I", "latin1"), 3: ("<I", "utf8")}
_WEIGHT = re.compile(r"weight_(0|[1-9][0-9]*)\.npy")
_STATE = re.compile(r"state_(0|[1-9][0-9]*)\.npy")

# Everything a damaged archive, header or config can raise on the way through zipfile, zlib,
# NumPy's header parser, json and a part's from_config.
_BROKEN = (OSError, EOFError, ValueError, TypeError, KeyError, IndexError, zipfile.BadZipFile,
           zipfile.LargeZipFile, zlib.error, struct.error, NotImplementedError, RuntimeError,
           OverflowError, MemoryError)


# ---- writing ----------------------------------------------------------------------------------


def save(path: str | os.PathLike[str], config: dict[str, Any],
         weights: Sequence[np.ndarray], training: dict[str, Any] | None = None,
         state: Sequence[np.ndarray] = ()) -> None:
    """Write `config` and `weights` to `path`, atomically; an existing file keeps its mode.
    `training` (JSON) and the arrays of `state` resume training (see `_training_state`)."""
    arrays = {f"weight_{i}": w for i, w in enumerate(weights)}
    arrays["format"] = np.array(FILE_FORMAT)
    arrays["config"] = np.array(json.dumps(config))
    if training is not None:
        arrays["training"] = np.array(json.dumps(training))
        arrays.update({f"state_{i}": a for i, a in enumerate(state)})
    target = Path(path)
    folder = target.parent
    if not folder.is_dir():
        raise ModelFileError(f"cannot save to {target}: the folder {folder} does not exist")
    fd, tmp = _temporary_beside(target)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)  # type: ignore[arg-type]
            f.flush()
            os.fsync(f.fileno())
        if target.exists():
            os.chmod(tmp, stat.S_IMODE(os.stat(target).st_mode))
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _temporary_beside(target: Path) -> tuple[int, str]:
    """A new file beside `target`, open for writing, with the mode a plain open() would give
    (the kernel applies the umask; reading the umask would mean setting it, which races other
    threads)."""
    for _ in range(100):
        tmp = target.parent / f".{target.name}.{secrets.token_hex(6)}.tmp"
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), str(tmp)
        except FileExistsError:
            continue
    raise ModelFileError(f"cannot save to {target}: no free temporary name beside it")


# ---- reading ----------------------------------------------------------------------------------


class _Buildable(Protocol):
    """What `load` needs of the model `from_config` builds."""

    @property
    def layers(self) -> Sequence[Layer]: ...

    def build(self, input_shape: tuple[int, ...]) -> None: ...

    def set_weights(self, weights: Sequence[Any]) -> None: ...

    def _resume(self, training: dict[str, Any], state: list[np.ndarray]) -> None: ...


M = TypeVar("M", bound=_Buildable)


def load(from_config: Callable[[dict[str, Any]], M], path: str | os.PathLike[str]) -> M:
    """The model that `from_config` builds from the file at `path`, checked before it is
    built."""
    try:
        # open the file here: zipfile leaves nothing open when the archive is broken
        with open(path, "rb") as f, _Archive(f) as archive:
            config = archive.config()
            input_shape = config.pop("input_shape", None)
            if input_shape is None:
                raise ModelFileError("it holds no input shape; it was saved unbuilt")
            model = from_config(config)
            shapes = archive.weight_shapes()
            sample_shape = _input_shape(input_shape)
            try:
                implied = param_shapes(model.layers, sample_shape)
            except (MemoryError, ValueError, OverflowError) as exc:
                raise ModelFileError(f"its config implies weights that cannot even be created "
                                     f"({type(exc).__name__}: {exc}); it holds weights of "
                                     f"shapes {_brief(shapes)}") from exc
            if implied != shapes:
                raise ModelFileError(f"its config implies weights of shapes {_brief(implied)} "
                                     f"but it holds weights of shapes {_brief(shapes)}")
            model.build(tuple(input_shape))
            model.set_weights(archive.weights())
            training = archive.training()
            if training is not None:
                model._resume(training, archive.state())
    except FileNotFoundError as exc:
        raise ModelFileError(f"no model file at {path}") from exc
    except ModelFileError as exc:
        raise ModelFileError(f"{path} is not a usable dualgrad model file: {exc}") from exc
    except _BROKEN as exc:
        raise ModelFileError(f"{path} is not a readable dualgrad model file "
                             f"({type(exc).__name__}: {exc})") from exc
    return model


class _Archive:
    """An open model file: its members found and checked against the file's size, read only
    on demand and each at most once."""

    def __init__(self, f: IO[bytes]) -> None:
        self._file = f
        self._count = 0
        self._members: dict[str, zipfile.ZipInfo] = {}
        self._headers: list[tuple[np.dtype[Any], tuple[int, ...], bool, int]] = []

    def __enter__(self) -> _Archive:
        size = os.fstat(self._file.fileno()).st_size
        self._zip = zipfile.ZipFile(self._file)
        try:
            self._check(size)
        except BaseException:
            self._zip.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._zip.close()

    def _check(self, size: int) -> None:
        """Find the members the format defines; check their zip headers and the marker."""
        infos = self._zip.infolist()
        names = [info.filename for info in infos]
        defined = [n for n in names if n in ("format.npy", "config.npy", "training.npy")
                   or _WEIGHT.fullmatch(n) or _STATE.fullmatch(n)]
        if len(set(defined)) != len(defined):
            twice = sorted({n for n in defined if defined.count(n) > 1})
            raise ModelFileError(f"it holds more than one member named {', '.join(twice)}")
        self._members = {info.filename: info for info in infos if info.filename in defined}
        for info in self._members.values():
            _check_member(info, size)
        declared = sum(info.file_size for info in self._members.values())
        if declared > _EXPANSION * size + (1 << 20):
            # dualgrad writes members stored: a file holds its weights at their full size. A
            # deflated file (np.savez_compressed) is read too, but not one that would expand
            # to many times its size: trained weights barely compress, a decompression bomb does
            raise ModelFileError(f"its members declare {declared} bytes, more than "
                                 f"{_EXPANSION} times the file's {size}; a dualgrad model "
                                 "file holds its weights uncompressed")
        if sum(info.compress_size for info in self._members.values()) > size:
            raise ModelFileError("its members claim more bytes than the file holds")
        if "format.npy" not in self._members:
            raise ModelFileError(f"it has no '{FILE_FORMAT}' format marker")
        marker = self._small("format", _FORMAT_LIMIT)
        if marker != FILE_FORMAT:
            raise ModelFileError(f"its format marker is {marker[:40]!r}; this dualgrad reads "
                                 f"{FILE_FORMAT!r} files (a newer dualgrad may read it)")
        count = sum(1 for n in self._members if n.startswith("weight_"))
        missing = [i for i in range(count) if f"weight_{i}.npy" not in self._members]
        if missing:
            raise ModelFileError(f"it lacks weight_{missing[0]} of weights 0 to {count - 1}")
        self._count = count

    def config(self) -> dict[str, Any]:
        return self._json("config")

    def _json(self, name: str) -> dict[str, Any]:
        text = self._small(name, _CONFIG_LIMIT)
        try:
            value = json.loads(text)
        except RecursionError:
            raise ModelFileError(f"its {name} is nested too deeply to read") from None
        except ValueError as exc:  # JSONDecodeError, and integers too long to convert
            raise ModelFileError(f"its {name} is not valid JSON ({exc})") from exc
        if not isinstance(value, dict):
            raise ModelFileError(f"its {name} is a JSON {type(value).__name__}, not an object")
        return value

    def training(self) -> dict[str, Any] | None:
        """What resumes training (None in a file saved without it)."""
        return self._json("training") if "training.npy" in self._members else None

    def state(self) -> list[np.ndarray]:
        """The optimizer state's arrays, in order."""
        count = sum(1 for n in self._members if n.startswith("state_"))
        arrays = []
        for i in range(count):
            name = f"state_{i}"
            if f"{name}.npy" not in self._members:
                raise ModelFileError(f"it lacks {name} of optimizer states 0 to {count - 1}")
            with self._zip.open(self._members[f"{name}.npy"]) as member:
                dtype, shape, fortran, start = _header(member, name)
            _check_dtype(dtype, name)
            if start + math.prod(shape) * dtype.itemsize != self._members[f"{name}.npy"].file_size:
                raise ModelFileError(f"{name} declares another amount of data than its member "
                                     "holds")
            arrays.append(self._array(name, dtype, shape, fortran, start))
        return arrays

    def weight_shapes(self) -> list[tuple[int, ...]]:
        """The weights' shapes, from their headers alone."""
        if not self._headers:
            for i in range(self._count):
                name = f"weight_{i}"
                with self._zip.open(self._members[f"{name}.npy"]) as member:
                    dtype, shape, fortran, start = _header(member, name)
                _check_dtype(dtype, name)
                nbytes = math.prod(shape) * dtype.itemsize
                if start + nbytes != self._members[f"{name}.npy"].file_size:
                    raise ModelFileError(f"{name} declares {nbytes} bytes of data but its "
                                         "member holds another amount")
                self._headers.append((dtype, shape, fortran, start))
        return [shape for _, shape, _, _ in self._headers]

    def weights(self) -> list[np.ndarray]:
        self.weight_shapes()
        return [self._array(f"weight_{i}", *header) for i, header in enumerate(self._headers)]

    def _small(self, name: str, limit: int) -> str:
        """The text of a 0-d string member, one of at most `limit` bytes."""
        info = self._members.get(f"{name}.npy")
        if info is None:
            raise ModelFileError(f"it has no {name}")
        if info.file_size > limit:
            raise ModelFileError(f"its {name} member declares {info.file_size} bytes, more "
                                 f"than the {limit} a {name} may take")
        with self._zip.open(info) as member:
            dtype, shape, fortran, start = _header(member, name)
        if dtype.kind != "U" or shape != () or start + dtype.itemsize != info.file_size:
            raise ModelFileError(f"its {name} is not one string (it is an array of {dtype} "
                                 f"shaped {shape}, in {info.file_size} bytes)")
        return str(self._array(name, dtype, shape, fortran, start)[()])

    def _array(self, name: str, dtype: np.dtype[Any], shape: tuple[int, ...], fortran: bool,
               start: int) -> np.ndarray:
        """A member's array, its size already checked; the zip's CRC is checked on the way."""
        info = self._members[f"{name}.npy"]
        with self._zip.open(info) as member:
            data = member.read(info.file_size + 1)
        if len(data) != info.file_size:
            raise ModelFileError(f"its {name} member is shorter or longer than it declares")
        arr = np.frombuffer(data, dtype=dtype, offset=start)
        return arr.reshape(shape[::-1]).T if fortran else arr.reshape(shape)


def _check_member(info: zipfile.ZipInfo, size: int) -> None:
    """A defined member's zip header: readable, and within the archive's size."""
    name = info.filename
    if info.flag_bits & 0x1:
        raise ModelFileError(f"its member {name} is encrypted")
    if info.compress_type == zipfile.ZIP_STORED:
        expands = info.file_size != info.compress_size
    elif info.compress_type == zipfile.ZIP_DEFLATED:
        expands = info.file_size > _DEFLATE_RATIO * info.compress_size + 64
    else:
        raise ModelFileError(f"its member {name} is compressed by method {info.compress_type}; "
                             "dualgrad reads stored or deflated members")
    if expands:
        raise ModelFileError(f"its member {name} declares {info.file_size} bytes from "
                             f"{info.compress_size}, more than its compression can give")
    if info.header_offset + info.compress_size > size:
        raise ModelFileError(f"its member {name} reaches past the end of the file")


def _header(member: IO[bytes], name: str) -> tuple[np.dtype[Any], tuple[int, ...], bool, int]:
    """A member's ``.npy`` header, read without its data: the dtype, the shape, whether it is
    in Fortran order, and where the data starts."""
    magic = member.read(8)
    if len(magic) != 8 or magic[:6] != b"\x93NUMPY" or magic[6] not in _NPY_VERSIONS:
        raise ModelFileError(f"its {name} is not an .npy array of a version dualgrad reads")
    length_format, encoding = _NPY_VERSIONS[magic[6]]
    width = struct.calcsize(length_format)
    length_bytes = member.read(width)
    if len(length_bytes) != width:
        raise ModelFileError(f"its {name} ends inside its header")
    (length,) = struct.unpack(length_format, length_bytes)
    if length > _HEADER_LIMIT:
        raise ModelFileError(f"its {name} declares a header of {length} bytes, more than the "
                             f"{_HEADER_LIMIT} an .npy header takes")
    text = member.read(length)
    if len(text) != length:
        raise ModelFileError(f"its {name} ends inside its header")
    try:
        header = ast.literal_eval(text.decode(encoding))
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        raise ModelFileError(f"its {name} has an unreadable header ({exc})") from None
    if not isinstance(header, dict) or set(header) != {"descr", "fortran_order", "shape"}:
        raise ModelFileError(f"its {name} has a header without descr, fortran_order and shape")
    shape, fortran = header["shape"], header["fortran_order"]
    if not isinstance(shape, tuple) or not all(type(d) is int and d >= 0 for d in shape) \
            or not isinstance(fortran, bool):
        raise ModelFileError(f"its {name} has a header with shape {shape!r} and fortran_order "
                             f"{fortran!r}")
    dtype = np.lib.format.descr_to_dtype(header["descr"])
    if dtype.hasobject:
        raise ModelFileError(f"its {name} holds pickled data (an object array); dualgrad "
                             "never unpickles, since unpickling can run any code")
    return dtype, shape, fortran, 8 + width + length


def _check_dtype(dtype: np.dtype[Any], name: str) -> None:
    if dtype.kind == "c":
        raise ModelFileError(f"{name} holds complex numbers; dualgrad weights are real")
    if dtype.kind not in "fiu" or dtype.fields is not None or dtype.subdtype is not None:
        raise ModelFileError(f"{name} holds {dtype} values, not real numbers")


def _input_shape(value: Any) -> tuple[int, ...]:
    if not isinstance(value, list) or not all(
            type(d) is int and 0 < d < 1 << 63 for d in value):
        raise ModelFileError(f"its input shape {value!r} is not a list of positive ints")
    return tuple(value)


def _brief(shapes: list[tuple[int, ...]]) -> str:
    text = ", ".join(str(s) for s in shapes[:6])
    return f"[{text}{', ...' if len(shapes) > 6 else ''}] ({len(shapes)} arrays)"


# ---- the weights a config implies ---------------------------------------------------------------


def param_shapes(layers: Sequence[Layer], input_shape: tuple[int, ...]) -> list[tuple[int, ...]]:
    """The shapes of the weights `layers` create for samples of shape `input_shape`.

    Each layer's `init` runs with `_ZeroDraws` for its generator: every draw is zeros from the
    operating system's zeroed pages, which cost no memory until written, so a config implying
    huge weights is found without building them (for layers that draw their weights or start
    them at zero, as the built-in ones do).
    """
    shapes: list[tuple[int, ...]] = []
    shape = input_shape
    for layer in layers:
        draws: Any = _ZeroDraws()  # a Generator in all that init uses of one
        shapes.extend(np.shape(w) for w in layer.init(shape, draws))
        shape = layer.output_shape(shape)
    return shapes


class _ZeroDraws:
    """A stand-in for `numpy.random.Generator` whose draws are all zeros of the right shape;
    a method that draws no `size` is the real generator's."""

    def __init__(self) -> None:
        self._real = np.random.default_rng(0)

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._real, name)
        try:
            signature = inspect.signature(getattr(np.random.Generator, name))
        except (AttributeError, TypeError, ValueError):
            return method
        if "size" not in signature.parameters:
            return method
        return _zero_draw(signature)


def _zero_draw(signature: inspect.Signature) -> Callable[..., Any]:
    def draw(*args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(None, *args, **kwargs)
        bound.apply_defaults()
        size = bound.arguments["size"]
        dtype = bound.arguments.get("dtype", np.float64)
        return np.zeros(() if size is None else size, dtype=dtype)

    return draw

