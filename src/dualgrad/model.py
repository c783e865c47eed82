"""`Model`: layers, a loss and an optimizer, declared and trained with forward-mode gradients."""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

import attrs
import numpy as np

from . import _budget, _model_file, _registry, _seeds, _zeros
from ._core import Variable, new_tag
from ._errors import (
    ConfigError,
    DataError,
    DualgradTypeError,
    NonFiniteLossError,
    ShapeError,
)
from ._toml import read_toml
from .callbacks import Callback, EpochEnd
from .layers import Dense, Layer
from .losses import LogLoss, Loss
from .optimizers import Optimizer

__all__ = ["History", "Model"]

_MODEL_KEYS = ("layers", "loss", "optimizer", "seed", "input_shape", "memory_budget")


@attrs.define
class History:
    """What `Model.fit` recorded: ``history["loss"]`` (and ``"val_loss"``), one per epoch."""

    history: dict[str, list[float]] = attrs.field(factory=dict)
    epoch: list[int] = attrs.field(factory=list)


def _resolve(kind: str, spec: Any, base: type) -> Any:
    """A layer, loss or optimizer from an object, a registered name, or a config dict."""
    if isinstance(spec, base):
        return spec
    reg = _registry.registry()
    if isinstance(spec, str):
        name, config = spec, {}
    elif isinstance(spec, dict):
        config = dict(spec)
        name = config.pop("type", None)
        if not isinstance(name, str):
            raise ConfigError(f"a {kind} config needs a 'type' naming a registered {kind}; "
                              f"got {spec!r}")
    else:
        raise ConfigError(f"a {kind} must be a {base.__name__}, a registered name or a config "
                          f"dict; got {type(spec).__name__}")
    try:
        cls = reg.get(kind, name)
    except KeyError as exc:
        raise ConfigError(str(exc)) from exc
    return cls.from_config(config)


def _describe_part(kind: str, obj: Any) -> dict[str, Any]:
    return {"type": _registry.registry().name_of(kind, type(obj)), **obj.get_config()}


def _as_matrix(a: Any, what: str) -> np.ndarray:
    if isinstance(a, np.ma.MaskedArray) or (isinstance(a, (list, tuple)) and any(
            isinstance(row, np.ma.MaskedArray) for row in a)):
        # NumPy would drop the mask, and the model would use the values it hides
        raise DualgradTypeError(f"{what} is a masked array, whose mask the model would lose "
                                "(it would use the masked-out values); pass np.ma.filled(a, "
                                "fill), or drop the masked samples first")
    if np.iscomplexobj(a):
        raise DataError(f"{what} has complex values; dualgrad models take real data (pass the "
                        "real and imaginary parts as separate features)")
    try:
        raw = np.asarray(a)
        if raw.dtype.kind in "USMmV" or (raw.dtype.kind == "O" and any(
                isinstance(v, (str, bytes)) for v in raw.flat)):
            # NumPy would parse "1.5" and count seconds in dates: a model trains on numbers only
            raise TypeError(f"it holds {raw.dtype} values")
        arr = raw.astype(np.float64, copy=False)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{what} must be numbers; could not read it as a float array "
                        f"({exc})") from exc
    if arr.ndim == 0:
        raise DataError(f"{what} must have one row per sample; got a scalar")
    if arr.shape[0] == 0:
        raise DataError(f"{what} is empty; give at least one sample")
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    bad = ~np.isfinite(arr)
    if bad.any():
        row = int(np.argwhere(bad)[0][0])
        raise DataError(f"{what} has {int(bad.sum())} NaN or infinite value(s), the first in "
                        f"row {row} (counting from 0); clean or impute the data first")
    return arr


class Model:
    """A stack of layers trained on a loss by an optimizer, with gradients by forward mode.

    Every scalar parameter is a tangent direction, seeded automatically: one vectorised
    forward pass gives the gradient of all P parameters, or several passes of a chunk of
    directions when P times the activations would exceed `memory_budget` bytes.

    Args:
        layers: each a `Layer`, a registered layer name, or a config dict with a ``"type"``.
        loss: a `Loss`, a registered name, or a config dict.
        optimizer: an `Optimizer`, a registered name, or a config dict.
        seed: seeds the initial weights and the shuffling; None draws one (kept in the
            config, so a model rebuilt from `get_config` trains identically).
        input_shape: the per-sample input shape; None builds the model on the first data.
        memory_budget: the bytes of tangents a gradient pass may hold; by default the
            process's budget (`dualgrad.get_memory_budget`, 1 GiB unless set).

    Example:
        >>> import numpy as np, dualgrad as dg
        >>> model = dg.Model([{"type": "dense", "units": 1}], "mse",
        ...                  {"type": "sgd", "lr": 0.1}, seed=0)
        >>> x = np.linspace(-1, 1, 20); y = 3 * x - 2
        >>> history = model.fit(x, y, epochs=300, verbose=False)
        >>> [round(float(w), 3) for w in np.concatenate([w.ravel() for w in model.get_weights()])]
        [3.0, -2.0]
    """

    def __init__(self, layers: Sequence[Any], loss: Any, optimizer: Any,
                 seed: int | None = None, input_shape: Sequence[int] | None = None,
                 memory_budget: int | None = None) -> None:
        if isinstance(layers, (str, dict, Layer)) or not isinstance(layers, Sequence) \
                or not layers:
            raise ConfigError("layers must be a non-empty list of layers, names or configs")
        if seed is None:
            seed = int(np.random.SeedSequence().generate_state(1)[0])
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ConfigError(f"seed must be a non-negative int or None, got {seed!r}")
        if memory_budget is None:
            memory_budget = _budget.get_memory_budget()
        memory_budget = _budget.checked(memory_budget)
        self.layers: list[Layer] = [_resolve("layer", spec, Layer) for spec in layers]
        self._loss: Loss = _resolve("loss", loss, Loss)
        self._optimizer: Optimizer = _resolve("optimizer", optimizer, Optimizer)
        self.seed = int(seed)
        self._memory_budget = int(memory_budget)
        self.stop_training = False
        self._rng = np.random.default_rng(self.seed)
        self._flat: np.ndarray | None = None
        self._previous: np.ndarray | None = None  # the weights before the last step of a fit
        self._params: list[list[np.ndarray]] | None = None
        self._layout: list[list[tuple[slice, tuple[int, ...]]]] = []
        self._chunks: dict[int, int] = {}
        self._logits_tail = _logits_tail(self.layers[-1], self._loss)
        self._input_shape: tuple[int, ...] | None = None
        self._opt_state: Any = None
        self._opt_state_for: Optimizer | None = None  # the optimizer whose state that is
        if input_shape is not None:
            self.build(tuple(input_shape))

    @property
    def loss(self) -> Loss:
        """The loss; assigning a new one (object, name or config) takes effect at once."""
        return self._loss

    @loss.setter
    def loss(self, value: Any) -> None:
        # read by every step, so one assigned from a callback during fit trains the next step
        self._loss = _resolve("loss", value, Loss)
        self._logits_tail = _logits_tail(self.layers[-1], self._loss)

    @property
    def optimizer(self) -> Optimizer:
        """The optimizer; assigning a new one starts it from a fresh state."""
        return self._optimizer

    @optimizer.setter
    def optimizer(self, value: Any) -> None:
        # the next step (also one of a fit under way) initialises the new optimizer's state
        self._optimizer = _resolve("optimizer", value, Optimizer)
        self._opt_state = None
        self._opt_state_for = None

    @property
    def memory_budget(self) -> int:
        """The bytes of tangents one gradient pass may hold; chunks are sized from it."""
        return self._memory_budget

    @memory_budget.setter
    def memory_budget(self, value: int) -> None:
        value = _budget.checked(value)
        self._memory_budget = int(value)
        self._chunks.clear()

    @property
    def optimizer_state(self) -> Any:
        """The optimizer's state after the last step (None before training)."""
        return self._opt_state

    # ---- configuration ------------------------------------------------------------------------

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Model:
        """Build a model from the dict `get_config` returns (or one written by hand)."""
        if not isinstance(config, dict):
            raise ConfigError(f"a model config must be a dict, got {type(config).__name__}")
        unknown = sorted(set(config) - set(_MODEL_KEYS))
        if unknown:
            raise ConfigError(f"a model config has no key {', '.join(map(repr, unknown))}; "
                              f"its keys are {', '.join(_MODEL_KEYS)}")
        missing = [k for k in ("layers", "loss", "optimizer") if k not in config]
        if missing:
            raise ConfigError(f"a model config needs {', '.join(map(repr, missing))}")
        return cls(**config)

    @classmethod
    def from_toml(cls, path: str | os.PathLike[str]) -> Model:
        """Build a model from a TOML file holding the `from_config` keys.

        A ``[fit]`` table, read by ``dualgrad train``, is ignored here.
        """
        config = read_toml(path)
        config.pop("fit", None)
        return cls.from_config(config)

    def get_config(self) -> dict[str, Any]:
        """Everything needed to rebuild this model untrained: parts, seed, input shape."""
        config: dict[str, Any] = {
            "layers": [_describe_part("layer", layer) for layer in self.layers],
            "loss": _describe_part("loss", self.loss),
            "optimizer": _describe_part("optimizer", self.optimizer),
            "seed": self.seed,
            "memory_budget": self.memory_budget,
        }
        if self._input_shape is not None:
            config["input_shape"] = list(self._input_shape)
        return config

    def __repr__(self) -> str:
        parts = ", ".join(repr(layer) for layer in self.layers)
        return f"Model([{parts}], loss={self.loss!r}, optimizer={self.optimizer!r})"

    # ---- parameters ---------------------------------------------------------------------------
    #
    # The weights live in one flat float64 vector; each layer sees views of it. The flat
    # layout makes the tangent seeds free (views of an identity block, built once per chunk)
    # and lets a flat-weights optimizer update every weight in one array operation.

    def build(self, input_shape: tuple[int, ...]) -> None:
        """Create the weights for samples of shape `input_shape` (done by the first `fit`)."""
        if isinstance(input_shape, (int, np.integer)):
            input_shape = (input_shape,)
        if not all(isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d > 0
                   for d in input_shape):
            raise ConfigError(f"input_shape must be positive ints, one per sample axis; got "
                              f"{tuple(input_shape)!r}")
        input_shape = tuple(int(d) for d in input_shape)
        if self._flat is not None:
            if input_shape != self._input_shape:
                raise ShapeError(f"this model takes samples of shape {self._input_shape}, got "
                                 f"{input_shape}")
            return
        arrays, shapes, shape = [], [], input_shape
        for i, layer in enumerate(self.layers):
            try:
                ws = [np.asarray(w, dtype=np.float64) for w in layer.init(shape, self._rng)]
            except (MemoryError, ValueError, OverflowError) as exc:
                # a size NumPy cannot allocate (units = 10**21): the config's fault, said so
                raise ConfigError(f"layer {i + 1} ({layer!r}) cannot create its weights for "
                                  f"inputs of shape {shape}: {type(exc).__name__}: {exc}; "
                                  "make the layer smaller") from None
            arrays.extend(ws)
            shapes.append([w.shape for w in ws])
            shape = layer.output_shape(shape)
        self._input_shape, self._output_shape = input_shape, shape
        self._layout, start = [], 0
        for layer_shapes in shapes:
            cuts = []
            for w_shape in layer_shapes:
                cuts.append((slice(start, start + math.prod(w_shape)), w_shape))
                start += math.prod(w_shape)
            self._layout.append(cuts)
        self._seeds: dict[tuple[int, int], list[list[Any]]] = {}
        self._set_flat(np.concatenate([w.ravel() for w in arrays]) if arrays else np.zeros(0))

    @property
    def built(self) -> bool:
        return self._flat is not None

    def _set_flat(self, flat: np.ndarray) -> None:
        self._flat = flat
        self._params = self._views(flat)

    def _views(self, rows: np.ndarray) -> list[list[Any]]:
        """Per-layer views of the last axis of `rows`, shaped like the weights."""
        lead = rows.shape[:-1]
        if not lead:
            return [[rows[cut].reshape(shape) for cut, shape in layer] for layer in self._layout]
        return [[rows[..., cut].reshape((*lead, *shape)) for cut, shape in layer]
                for layer in self._layout]

    def _built_flat(self) -> np.ndarray:
        self._built_params()
        return self._flat  # type: ignore[return-value]

    def _built_params(self) -> list[list[np.ndarray]]:
        if self._params is None:
            raise ConfigError("this model has no weights yet: call fit (or build with the "
                              "input shape) first, or pass input_shape")
        return self._params

    @property
    def num_params(self) -> int:
        """The number of scalar parameters."""
        self._built_params()
        return int(self._flat.size)  # type: ignore[union-attr]

    def get_weights(self) -> list[np.ndarray]:
        """Copies of the weights, each layer's kernel then its bias."""
        return [w.copy() for ws in self._built_params() for w in ws]

    def set_weights(self, weights: Sequence[Any]) -> None:
        """Replace the weights by arrays shaped and ordered as `get_weights` gives them."""
        current = [w for ws in self._built_params() for w in ws]
        weights = list(weights)
        if len(weights) != len(current):
            raise ShapeError(f"this model has {len(current)} weight arrays, got {len(weights)}")
        new = []
        for i, (old, w) in enumerate(zip(current, weights)):
            try:
                arr = np.array(w, dtype=np.float64)
            except (TypeError, ValueError) as exc:
                raise DataError(f"weight {i} is not an array of numbers ({exc})") from exc
            if arr.shape != old.shape:
                raise ShapeError(f"weight {i} must have shape {old.shape}, got {arr.shape}")
            if not np.all(np.isfinite(arr)):
                raise DataError(f"weight {i} has NaN or infinite values")
            new.append(arr.ravel())
        self._set_flat(np.concatenate(new) if new else np.zeros(0))

    # ---- computing ----------------------------------------------------------------------------

    def _forward(self, params: Sequence[Sequence[Any]], x: Any) -> Any:
        for layer, ws in zip(self.layers, params):
            x = layer(ws, x)
        return x

    def _loss_of(self, params: Sequence[Sequence[Any]], x: Any, y: np.ndarray) -> Any:
        """The training loss. A sigmoid output read by log-loss is computed from the logits:
        the same function, finite in value and slope however saturated the output."""
        if self._logits_tail is None:
            return self.loss(y, self._forward(params, x))
        for layer, ws in zip(self.layers[:-1], params[:-1]):
            x = layer(ws, x)
        head, loss = self._logits_tail
        return loss(y, head(params[-1], x))

    def _data(self, x: Any, y: Any = None) -> tuple[np.ndarray, np.ndarray | None]:
        """Validated float copies of x (N, *input) and y (N, outputs)."""
        x = _as_matrix(x, "x")
        if self._input_shape is not None and x.shape[1:] != self._input_shape:
            raise DataError(f"this model takes samples of shape {self._input_shape}; x has "
                            f"samples of shape {x.shape[1:]}")
        if y is None:
            return x, None
        y = _as_matrix(y, "y")
        if y.shape[0] != x.shape[0]:
            raise DataError(f"x has {x.shape[0]} rows but y has {y.shape[0]}; give one target "
                            "per sample")
        if self._flat is not None and y.shape[1:] != self._output_shape:
            raise DataError(f"this model predicts {self._output_shape} per sample; y has "
                            f"{y.shape[1:]}")
        self.loss.check_targets(y)
        return x, y

    def _chunk_size(self, rows: int) -> int:
        """Directions per pass so that one pass's tangents fit in the memory budget."""
        size = self._chunks.get(rows)
        if size is None:
            size = self._chunks[rows] = self._plan_chunk(rows)
        return size

    def _worth_freezing(self, rows: int, batch: int) -> bool:
        """Whether fit should train on a frozen copy of its `rows` samples in batches of
        `batch`, so that tangents of the data alone are kept from step to step: only when one
        pass covers every weight (other plans seed differently each pass) and the kept tangents
        of every batch (at most the first layer's output per weight and sample) with the copy
        take a quarter of the memory budget or less."""
        total = self._built_flat().size
        if self._chunk_size(batch) < total or not self.layers:
            return False
        first = math.prod(self.layers[0].output_shape(self._input_shape or ()))
        return 8 * rows * (total * first + math.prod(self._input_shape or ())) \
            <= self.memory_budget // 4

    def _plan_chunk(self, rows: int) -> int:
        width = 0
        shape = self._input_shape or ()
        for layer in self.layers:
            shape = layer.output_shape(shape)
            width += math.prod(shape)
        # per direction: its seeds (one float per parameter) and about four arrays of the
        # activations' size alive at once (a layer's product, sum, activation and rule).
        per_direction = 8 * (self.num_params + 4 * rows * max(width, 1))
        return max(1, min(self.num_params, self.memory_budget // per_direction))

    def _seeded(self, start: int, stop: int, tag: int,
                params: list[list[np.ndarray]]) -> list[list[Any]]:
        """The weights carrying directions start..stop of the identity; a weight none of those
        directions touches stays a constant, so no rule runs for it."""
        tangents = self._seeds.get((start, stop))
        if tangents is None:
            block = np.zeros((stop - start, self.num_params))
            block[np.arange(stop - start), np.arange(start, stop)] = 1.0
            tangents = self._views(block)
            offset = 0
            for layer in tangents:
                for k, t in enumerate(layer):
                    n = math.prod(t.shape[1:])
                    if offset + n <= start or offset >= stop:
                        layer[k] = None  # no direction of this chunk touches the weight
                    else:
                        # contiguous (NumPy is slower on the strided view) and marked as unit
                        # seeds, so the rules that can skip their zeros do
                        layer[k] = _seeds.mark(np.ascontiguousarray(t), offset - start)
                    offset += n
            # Keep the seeds when one pass covers every weight (small models, every step reuses
            # them); a chunked plan builds each chunk's seeds as it goes, so they never add to
            # the memory budget more than one chunk at a time.
            if start == 0 and stop == self._built_flat().size:
                self._seeds[(start, stop)] = tangents
        return [[w if t is None else Variable._make(w, t, tag) for w, t in zip(ws, ts)]
                for ws, ts in zip(params, tangents)]

    def _value_and_gradient(self, x: np.ndarray, y: np.ndarray, flat: np.ndarray | None = None,
                            repair: bool = False) -> tuple[float, np.ndarray]:
        """The loss and its gradient, a flat vector in the weights' layout, at the model's
        weights or at the flat vector `flat`. With `repair`, zero tangents stay zero (see
        `_zeros`; asked for when a gradient comes out NaN, which costs nothing before)."""
        params = self._built_params() if flat is None else self._views(flat)
        total = self._flat.size  # type: ignore[union-attr]
        step = self._chunk_size(x.shape[0])
        if total == 0:  # a model without weights
            return float(self._loss_of(params, x, y)), np.zeros(0)
        if repair:
            return self._repaired(x, y, params, step)
        if step >= total:  # one pass: its tangent is the gradient
            tag = new_tag()
            value, grad = _value_and_tangent(
                self._loss_of(self._seeded(0, total, tag, params), x, y), tag, total)
            return float(value), grad.reshape(total)
        grad = np.empty(total)
        for start in range(0, total, step):
            stop = min(start + step, total)
            tag = new_tag()
            value, grad[start:stop] = _value_and_tangent(
                self._loss_of(self._seeded(start, stop, tag, params), x, y), tag, stop - start)
        return float(value), grad

    def _repaired(self, x: np.ndarray, y: np.ndarray, params: list[list[Any]], step: int
                  ) -> tuple[float, np.ndarray]:
        """`_value_and_gradient` with zero tangents kept zero (see `_zeros`), pass by pass."""
        total = self._flat.size  # type: ignore[union-attr]
        grad = np.empty(total)
        for start in range(0, total, step):
            stop = min(start + step, total)
            tag = new_tag()
            _zeros.REPAIRING.add(tag)
            try:
                value, grad[start:stop] = _value_and_tangent(
                    self._loss_of(self._seeded(start, stop, tag, params), x, y), tag,
                    stop - start)
            finally:
                _zeros.REPAIRING.discard(tag)
        return float(value), grad

    def _value_and_forward_gradient(self, x: np.ndarray,
                                    y: np.ndarray) -> tuple[float, np.ndarray]:
        """The loss and a forward gradient ``(grad . v) v``, v ~ N(0, I): one direction."""
        v = self._rng.standard_normal(self._flat.size)  # type: ignore[union-attr]
        tag = new_tag()
        params = [[Variable._make(w, t, tag) for w, t in zip(ws, ts)]
                  for ws, ts in zip(self._built_params(), self._views(v.reshape(1, -1)))]
        out = self._loss_of(params, x, y)
        if isinstance(out, Variable) and out.tag == tag:
            return float(out.value), float(out.tangent[0]) * v
        return float(out), np.zeros_like(v)

    def gradient(self, x: Any, y: Any) -> list[np.ndarray]:
        """d loss / d weights on (x, y), as arrays shaped like `get_weights`."""
        x, y_or_none = self._data(x, y)
        self.build(x.shape[1:])
        y = _require(y_or_none)
        with np.errstate(invalid="ignore"):  # a NaN is looked for below, and reported there
            flat = self._value_and_gradient(x, y)[1]
        if np.isnan(flat).any():  # an infinite slope met a zero tangent: see _zeros
            flat = self._value_and_gradient(x, y, repair=True)[1]
        return [g for gs in self._views(flat) for g in gs]

    def predict(self, x: Any) -> np.ndarray:
        """The model's outputs for `x`, shape ``(N, *outputs)``."""
        x, _ = self._data(x)
        return np.asarray(self._forward(self._built_params(), x))

    def evaluate(self, x: Any, y: Any) -> float:
        """The loss on (x, y)."""
        x, y_or_none = self._data(x, y)
        return float(self._loss_of(self._built_params(), x, _require(y_or_none)))

    # ---- training -----------------------------------------------------------------------------

    def fit(self, x: Any, y: Any, epochs: int = 1, batch_size: int | None = None,
            shuffle: bool = True, validation_data: tuple[Any, Any] | None = None,
            callbacks: Sequence[Callback | Callable[[int, dict[str, float]], Any]] = (),
            verbose: bool = True) -> History:
        """Train for `epochs` passes over (x, y) in mini-batches of `batch_size` (None: all).

        Every check on the arguments and the data runs before the first step, so a bad call
        leaves the model as it was. If the loss turns NaN or infinite, training stops with
        `NonFiniteLossError` and the model keeps its last finite weights.

        When one pass covers every weight, batches that repeat every epoch (all of x, or
        unshuffled slices) come from a private read-only copy of the data, so that tangents
        depending on the data alone are reused from step to step (when those fit in a quarter
        of `memory_budget`); `x` and `y` themselves are never written. Do not change them while
        fit runs (from a callback): whether a change is seen depends on that choice.
        """
        if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
            raise ConfigError(f"epochs must be a positive int, got {epochs!r}")
        if not isinstance(shuffle, (bool, np.bool_)):
            raise ConfigError(f"shuffle must be True or False, got {shuffle!r}")
        if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(
                batch_size, (int, np.integer)) or batch_size < 1):
            raise ConfigError(f"batch_size must be a positive int or None, got {batch_size!r}")
        x, y_or_none = self._data(x, y)
        y = _require(y_or_none)
        val = None
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                raise DataError("validation_data must be a pair (x_val, y_val)")
            val = self._data(*validation_data)
            if val[0].shape[1:] != x.shape[1:] or val[1] is None \
                    or val[1].shape[1:] != y.shape[1:]:
                raise DataError("validation_data must have the shapes of the training data "
                                f"per sample: x {x.shape[1:]}, y {y.shape[1:]}")
        hooks = [cb if isinstance(cb, Callback) else EpochEnd(cb) for cb in callbacks]
        metrics = ("loss", "val_loss") if val is not None else ("loss",)
        for cb in hooks:
            monitor = getattr(cb, "monitor", None)
            if monitor is not None and monitor not in metrics:
                raise ConfigError(f"{type(cb).__name__} watches {monitor!r}, but training "
                                  f"reports only {', '.join(metrics)}; pass validation_data "
                                  "to get val_loss")

        # check y against the output shape before building, so a bad call leaves an unbuilt
        # model unbuilt
        out_shape = x.shape[1:]
        for layer in self.layers:
            out_shape = layer.output_shape(out_shape)
        if y.shape[1:] != tuple(out_shape):
            raise DataError(f"this model predicts {tuple(out_shape)} per sample; y has "
                            f"{y.shape[1:]}")
        self.build(x.shape[1:])
        self._optimizer_state()

        n = x.shape[0]
        size = n if batch_size is None else min(int(batch_size), n)
        # Batches that come back every epoch (all of x, or fixed slices of it) are frozen
        # private copies when one pass covers every weight, so that tangents computed from the
        # data alone (the first layer's seeded tangent) are computed once, not every step.
        batches = None
        if size == n or not shuffle:
            frozen = self._worth_freezing(n, size)
            if frozen:
                x = _seeds.freeze(x.copy())
            batches = [(_seeds.freeze(x[i:i + size]) if frozen else x[i:i + size], y[i:i + size])
                       for i in range(0, n, size)]
        history = History()
        losses = history.history.setdefault("loss", [])
        if val is not None:
            history.history["val_loss"] = []
        self.stop_training = False
        self._previous = None
        loss = self._loss
        for cb in hooks:
            cb.on_train_begin(self)
        loss = self._targets_checked(loss, y, val)
        bar = _progress(epochs, verbose)
        # An overflow on the way to a non-finite loss or weight is caught by `_step` and raised
        # as NonFiniteLossError; NumPy's RuntimeWarnings would only precede that error (or,
        # with warnings as errors, replace it).
        try:
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                for epoch in range(int(epochs)):
                    if batches is None:
                        order = self._rng.permutation(n)
                        epoch_batches: Any = ((x[order[i:i + size]], y[order[i:i + size]])
                                              for i in range(0, n, size))
                    else:
                        epoch_batches = batches
                    total = 0.0
                    for xb, yb in epoch_batches:
                        total += self._step(xb, yb) * xb.shape[0]
                    history.epoch.append(epoch)
                    losses.append(total / n)
                    if val is None and not hooks and bar is None:
                        continue  # nothing else to report (and no callback to stop training)
                    logs = {"loss": total / n}
                    if val is not None:
                        logs["val_loss"] = self.evaluate(*val)
                        history.history["val_loss"].append(logs["val_loss"])
                    for cb in hooks:
                        cb.on_epoch_end(epoch, logs, self)
                    loss = self._targets_checked(loss, y, val)
                    if bar is not None:
                        bar.set_postfix(loss=f"{logs['loss']:.4g}", refresh=False)
                        bar.update(1)
                    if self.stop_training:
                        break
        finally:
            if bar is not None:
                bar.close()
        for cb in hooks:
            cb.on_train_end(self)
        return history

    def _optimizer_state(self) -> Any:
        """The optimizer's state, initialised for the current weights when the optimizer is new
        (the first fit, or one assigned since the last step, from a callback too)."""
        opt = self._optimizer
        if self._opt_state_for is not opt:
            self._opt_state = opt.init([self._built_flat().copy()] if opt.flat_weights
                                       else self.get_weights())
            self._opt_state_for = opt
        return self._opt_state

    def _targets_checked(self, checked: Loss, y: np.ndarray,
                         val: tuple[np.ndarray, np.ndarray | None] | None) -> Loss:
        """The loss in use, its targets checked if it is not `checked` (a callback assigned
        it), as fit checks them before the first step."""
        if self._loss is not checked:
            self._loss.check_targets(y)
            if val is not None and val[1] is not None:
                self._loss.check_targets(val[1])
        return self._loss

    def _step(self, x: np.ndarray, y: np.ndarray) -> float:
        opt = self._optimizer
        opt_state = self._optimizer_state()
        if opt.gradient_estimate == "forward":
            value, grad = self._value_and_forward_gradient(x, y)
        else:
            value, grad = self._value_and_gradient(x, y)
        if not math.isfinite(value):
            if self._previous is not None:  # back to the weights whose loss was finite
                np.copyto(self._built_flat(), self._previous)
            raise NonFiniteLossError(
                f"the loss became {value} on a batch; training stopped and the model keeps the "
                "last weights whose loss was finite. Lower the learning rate or check the "
                "data's scale")
        flat: np.ndarray = self._flat  # type: ignore[assignment]
        new_flat, state = self._update(opt, opt_state, grad, x, y)
        finite = _finite(new_flat, flat.shape)
        if not finite and opt.gradient_estimate != "forward" and np.isnan(grad).any():
            # an infinite slope met a zero tangent (see _zeros): the gradient again, repaired
            value, grad = self._value_and_gradient(x, y, repair=True)
            new_flat, state = self._update(opt, opt_state, grad, x, y)
            finite = _finite(new_flat, flat.shape)
        if not finite:
            raise NonFiniteLossError(
                "a step produced NaN or infinite weights; training stopped and the model keeps "
                "its last finite weights. Lower the learning rate or check the data's scale")
        # into the same buffer, so the layers' views of it stay valid from step to step; the
        # weights just scored are kept, in case the next loss is not finite
        if self._previous is None or self._previous.shape != flat.shape:
            self._previous = np.empty_like(flat)
        self._previous[...] = flat
        flat[...] = new_flat
        self._opt_state = state
        return value

    def _update(self, opt: Optimizer, opt_state: Any, grad: np.ndarray, x: np.ndarray,
                y: np.ndarray) -> tuple[np.ndarray, Any]:
        """The optimizer's new weights, as one flat float64 vector, and its new state."""
        flat: np.ndarray = self._flat  # type: ignore[assignment]
        extra = {"loss_and_grad": self._loss_and_grad(x, y)} if opt.needs_loss else _NO_EXTRA
        if opt.flat_weights:
            new, state = opt.update([grad], opt_state, [flat], **extra)
            new_flat = new[0]
            if type(new_flat) is not np.ndarray or new_flat.dtype != np.float64:
                new_flat = np.asarray(new_flat, dtype=np.float64)
            return new_flat, state
        new, state = opt.update([g for gs in self._views(grad) for g in gs],
                                opt_state, self.get_weights(), **extra)
        return np.concatenate([np.ravel(w) for w in new]).astype(np.float64), state

    def _loss_and_grad(self, x: np.ndarray,
                       y: np.ndarray) -> Callable[[Sequence[np.ndarray]], tuple[float, list[Any]]]:
        """For optimizers that evaluate the loss elsewhere (line searches): the batch's loss and
        gradient at any weights, given and returned in the form the optimizer works in."""
        flat_form = self.optimizer.flat_weights

        def loss_and_grad(params: Sequence[np.ndarray]) -> tuple[float, list[Any]]:
            if flat_form:
                flat = np.asarray(params[0], dtype=np.float64)
            else:
                flat = np.concatenate([np.ravel(np.asarray(w, dtype=np.float64))
                                       for w in params])
            if flat.shape != self._flat.shape:  # type: ignore[union-attr]
                raise ShapeError(f"loss_and_grad takes {self.num_params} weights in all, got "
                                 f"{flat.size}")
            value, grad = self._value_and_gradient(x, y, flat)
            return value, [grad] if flat_form else [g for gs in self._views(grad) for g in gs]

        return loss_and_grad

    # ---- files --------------------------------------------------------------------------------

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the config and weights to one ``.npz`` file, atomically.

        The file is written beside `path` and renamed over it, so a crash mid-save leaves any
        earlier file whole; a file saved over keeps its permissions.
        """
        _model_file.save(path, self.get_config(), self.get_weights())

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Model:
        """Read a model written by `save`; a missing, corrupt or foreign file raises
        `ModelFileError`.

        The file is checked before the model is built (its weights against what its config
        implies, each part's size against the file's), and never unpickled.
        """
        return _model_file.load(cls, path)


_DEFAULT_EPS = attrs.fields(LogLoss).eps.default


def _logits_tail(last: Layer, loss: Loss) -> tuple[Layer, Loss] | None:
    """For a sigmoid output read by log-loss: the last layer without its sigmoid, and the
    log-loss of logits."""
    # Only for the built-in dense layer, whose output is exactly sigmoid(logits), and the
    # default clipping, which only ever changes saturated predictions (where the logits give
    # the exact loss instead).
    if (type(last) is Dense and last.activation == "sigmoid" and type(loss) is LogLoss
            and not loss.from_logits and loss.eps == _DEFAULT_EPS):
        return attrs.evolve(last, activation=None), LogLoss(from_logits=True)
    return None


_NO_EXTRA: dict[str, Any] = {}  # keyword arguments for optimizers that need nothing more


def _finite(new_flat: np.ndarray, shape: tuple[int, ...]) -> bool:
    """Whether an update gave finite weights of the right shape: a finite sum of squares means
    finite weights, unless the sum itself overflowed (then look closer)."""
    return new_flat.shape == shape and (math.isfinite(new_flat.dot(new_flat))
                                        or bool(np.isfinite(new_flat).all()))


def _value_and_tangent(out: Any, tag: int, directions: int) -> tuple[Any, np.ndarray]:
    """A pass's loss and its tangent along the pass's directions, as float64."""
    if type(out) is Variable and out.tag == tag:
        tangent = out.tangent
        if type(tangent) is not np.ndarray or tangent.dtype != np.float64 \
                or not tangent.flags.writeable:  # (a tangent kept for frozen data is shared)
            tangent = np.array(tangent, dtype=np.float64)
        return out.value, tangent
    return out, np.zeros(directions)  # the loss does not depend on these weights


def _progress(epochs: int, verbose: bool) -> Any:
    """A tqdm bar over epochs, or None when quiet."""
    if not verbose:
        return None
    from tqdm.auto import tqdm

    # disable=None: draw only on a terminal, so logs and CI stay clean
    return tqdm(total=int(epochs), desc="epochs", unit="epoch", leave=False,
                disable=True if epochs < 10 else None, file=sys.stderr)


def _require(y: np.ndarray | None) -> np.ndarray:
    if y is None:
        raise DataError("fit needs targets y")
    return y

