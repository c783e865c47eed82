"""The model file: an ``.npz`` archive of a format marker, the config as JSON, and the weights;
and, for a trained model, what resumes its training: the optimizer's state (its arrays and a
JSON member of its numbers) and the random generator's state (see `_training_state`).

Writing is atomic: a temporary file beside the target, flushed to disk, renamed over it.

Reading trusts nothing in the file: `_archive` checks each member's declared size against the
archive's before decompressing it, and `load` checks the weights' shapes against what the
config implies before the model is built, so a file whose config implies weights it does not
hold is refused without building them. No code runs from a file. Every way a file can be
broken ends in `ModelFileError`.
"""

from __future__ import annotations

import inspect
import json
import os
import secrets
import stat
import struct
import zipfile
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import numpy as np

from ._archive import FILE_FORMAT, Archive
from ._errors import ModelFileError

if TYPE_CHECKING:
    from .layers import Layer

__all__ = ["FILE_FORMAT", "load", "param_shapes", "save"]

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
        with open(path, "rb") as f, Archive(f) as archive:
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

