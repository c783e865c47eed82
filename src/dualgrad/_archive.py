"""A model file opened for reading, trusting nothing in it: `Archive` reads only the members
the format defines, and checks each one's declared size (the zip header, then the ``.npy``
header's shape and dtype) against the archive's size before decompressing it, so a small file
never costs much memory. Arrays are read with ``allow_pickle=False``: no code runs from a file.
Everything it finds wrong is a `ModelFileError` (what the libraries it reads with may raise on
a damaged file, `_model_file.load` turns into one).
"""

from __future__ import annotations

import ast
import json
import math
import os
import re
import struct
import zipfile
from typing import IO, Any

import numpy as np

from ._errors import ModelFileError

__all__ = ["FILE_FORMAT", "Archive"]

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

class Archive:
    """An open model file: its members found and checked against the file's size, read only
    on demand and each at most once."""

    def __init__(self, f: IO[bytes]) -> None:
        self._file = f
        self._count = 0
        self._members: dict[str, zipfile.ZipInfo] = {}
        self._headers: list[tuple[np.dtype[Any], tuple[int, ...], bool, int]] = []

    def __enter__(self) -> Archive:
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
