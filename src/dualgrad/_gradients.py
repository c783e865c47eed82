"""A model's gradients by forward mode: seeding, chunk planning, and the loss they run through.

Every scalar weight is a tangent direction. One vectorised pass seeds all P of them and gives
the whole gradient, or several passes of a chunk of directions each when P times the
activations would exceed the memory budget.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import _zeros
from ._core import Variable, new_tag, unit_seeds
from ._errors import ConfigError
from ._programs import StepPrograms, reverse_pass
from ._weights import Weights
from .layers import Layer
from .layers.base import Mode, enter, leave
from .losses import Loss

__all__ = ["GradientEngine"]

_MODES = ("auto", "forward", "reverse")


class GradientEngine:
    """The loss of a stack of layers and its gradient in the weights.

    Args:
        layers: the model's layers, applied in order.
        loss: the loss read from the last layer's output; reassign `loss` to change it.
        memory_budget: the bytes of tangents one pass may hold; reassign to replan.
    """

    def __init__(self, layers: list[Layer], loss: Loss, memory_budget: int,
                 mode: str = "auto") -> None:
        if mode not in _MODES:
            raise ConfigError(f"gradient must be one of {', '.join(map(repr, _MODES))}; got "
                              f"{mode!r}")
        self.mode = mode
        self.layers = layers
        self._chunks: dict[int, int] = {}
        self._seeds: dict[tuple[int, int], list[list[Any]]] = {}
        self._seeds_for: Weights | None = None  # the weights those seeds are laid out for
        self._tail: tuple[Layer, Loss] | None = None
        self._fused_for: tuple[Layer | None, Loss | None] = (None, None)
        self.programs = StepPrograms(self.loss_of)
        self.reverse_programs = StepPrograms(self.loss_of)
        self.reverse_programs.reverse = True
        self.loss = loss
        self.memory_budget = memory_budget

    @property
    def loss(self) -> Loss:
        return self._loss

    @loss.setter
    def loss(self, loss: Loss) -> None:
        self._loss = loss

    def _fused(self) -> tuple[Layer, Loss] | None:
        """What the loss declares about the last layer (log-loss of a sigmoid head reads its
        logits: the same function, finite however saturated the output), asked again only
        when the loss or the last layer changes."""
        last = self.layers[-1] if self.layers else None
        if last is not self._fused_for[0] or self._loss is not self._fused_for[1]:
            self._tail = self._loss.fuse_with(last) if last is not None else None
            self._fused_for = (last, self._loss)
        return self._tail

    @property
    def memory_budget(self) -> int:
        return self._memory_budget

    @memory_budget.setter
    def memory_budget(self, value: int) -> None:
        self._memory_budget = int(value)
        self._chunks.clear()
        self.programs.clear()
        self.reverse_programs.clear()

    # ---- the function ------------------------------------------------------------------------

    def forward(self, params: Sequence[Sequence[Any]], x: Any) -> Any:
        """The last layer's output for the batch `x`."""
        for layer, ws in zip(self.layers, params):
            x = layer(ws, x)
        return x

    def loss_of(self, params: Sequence[Sequence[Any]], x: Any, y: np.ndarray) -> Any:
        """The training loss of the batch (x, y) at the weights `params`."""
        fused = self._fused()
        if fused is None:
            return self._loss(y, self.forward(params, x))
        layers = self.layers
        for i in range(len(layers) - 1):
            x = layers[i](params[i], x)
        head, loss = fused
        return loss(y, head(params[-1], x))

    # ---- planning ----------------------------------------------------------------------------

    def chunk_size(self, weights: Weights, rows: int) -> int:
        """Directions per pass on `rows` samples, so that one pass's tangents fit the budget."""
        size = self._chunks.get(rows)
        if size is None:
            size = self._chunks[rows] = self._plan_chunk(weights, rows)
        return size

    def _plan_chunk(self, weights: Weights, rows: int) -> int:
        width = 0
        shape = weights.input_shape
        for layer in self.layers:
            shape = layer.output_shape(shape)
            width += math.prod(shape)
        # per direction: its seeds (one float per parameter) and about four arrays of the
        # activations' size alive at once (a layer's product, sum, activation and rule).
        per_direction = 8 * (weights.size + 4 * rows * max(width, 1))
        return max(1, min(weights.size, self.memory_budget // per_direction))

    # ---- gradients ---------------------------------------------------------------------------

    def _seeded(self, weights: Weights, start: int, stop: int, tag: int,
                params: list[list[Any]]) -> list[list[Any]]:
        """The weights carrying directions start..stop of the identity; a weight none of those
        directions touches stays a constant, so no rule runs for it."""
        if self._seeds_for is not weights:
            self._seeds, self._seeds_for = {}, weights
        tangents = self._seeds.get((start, stop))
        if tangents is None:
            block = np.zeros((stop - start, weights.size))
            block[np.arange(stop - start), np.arange(start, stop)] = 1.0
            tangents = weights.views(block)
            offset = 0
            for layer in tangents:
                for k, t in enumerate(layer):
                    n = math.prod(t.shape[1:])
                    if offset + n <= start or offset >= stop:
                        layer[k] = None  # no direction of this chunk touches the weight
                    else:
                        # contiguous (NumPy is slower on the strided view), stored as unit
                        # seeds, so the specialisations that can skip their zeros do
                        layer[k] = unit_seeds(np.ascontiguousarray(t), None, stop - start,
                                              offset - start)
                    offset += n
            # Keep the seeds when one pass covers every weight (small models, every step reuses
            # them); a chunked plan builds each chunk's seeds as it goes, so they never add to
            # the memory budget more than one chunk at a time.
            if start == 0 and stop == weights.size:
                self._seeds[(start, stop)] = tangents
        return [[w if t is None else Variable._make(w, t, tag) for w, t in zip(ws, ts)]
                for ws, ts in zip(params, tangents)]

    def value_and_gradient(self, weights: Weights, x: np.ndarray, y: np.ndarray,
                           flat: np.ndarray | None = None, repair: bool = False,
                           fixed: bool = False, mode: Mode | None = None
                           ) -> tuple[float, np.ndarray]:
        """The loss and its gradient, a flat vector in the weights' layout, at `weights` or at
        the flat vector `flat`. With `repair`, zero tangents stay zero (see `_zeros`; asked
        for when a gradient comes out NaN, which costs nothing before). `fixed` says that x
        and y are the fit's private batches, the same arrays every epoch (see `_programs`).
        The layers run in `mode` (see `dualgrad.layers.current_mode`; None: the current one).

        One pass (every weight a direction at once) replays the batch's recorded program;
        several passes, a repair, and layers that cannot be recorded run eagerly."""
        params = weights.params if flat is None else weights.views(flat)
        parts = (*self.layers, self._loss)
        reverse = self.reverse(weights, x.shape[0])
        programs = self.reverse_programs if reverse else self.programs
        if not repair:  # the batch's program, if one is recorded (only for one-pass plans)
            replayed = programs.replay(weights, parts, x, y, fixed, params)
            if replayed is not None:  # no layer runs: the mode matters not
                value, grad = _as_gradient(*replayed)
                return float(value), grad
        token = None if mode is None else enter(mode)
        try:
            return self._computed(weights, params, parts, x, y, flat, repair, fixed, reverse,
                                  programs)
        finally:
            if token is not None:
                leave(token)

    def _computed(self, weights: Weights, params: Any,
                  parts: tuple[Any, ...], x: np.ndarray, y: np.ndarray,
                  flat: np.ndarray | None, repair: bool, fixed: bool, reverse: bool,
                  programs: StepPrograms) -> tuple[float, np.ndarray]:
        """`value_and_gradient` when no recorded program serves: record one, or run eagerly."""
        if reverse:
            if not repair:
                replayed = programs.record(weights, parts, x, y, fixed, params,
                                           self.memory_budget)
                if replayed is not None:
                    value, grad = _as_gradient(*replayed)
                    return float(value), grad
            return self._reverse(weights, params, x, y, repair, flat)
        total = weights.size
        step = self.chunk_size(weights, x.shape[0])
        if total == 0:  # a model without weights
            return float(self.loss_of(params, x, y)), np.zeros(0)
        if not repair and step >= total:  # one pass: its tangent is the gradient
            replayed = self.programs.record(weights, parts, x, y, fixed, params,
                                            self.memory_budget)
            if replayed is not None:
                value, grad = _as_gradient(*replayed)
                return float(value), grad.reshape(total)
            tag = new_tag()
            value, grad = _value_and_tangent(
                self.loss_of(self._seeded(weights, 0, total, tag, params), x, y), tag, total)
            return float(value), grad.reshape(total)
        grad = np.empty(total)
        for start in range(0, total, step):
            stop = min(start + step, total)
            tag = new_tag()
            if repair:
                _zeros.REPAIRING.add(tag)
            try:
                value, grad[start:stop] = _value_and_tangent(
                    self.loss_of(self._seeded(weights, start, stop, tag, params), x, y), tag,
                    stop - start)
            finally:
                _zeros.REPAIRING.discard(tag)
        return float(value), grad

    def reverse(self, weights: Weights, rows: int) -> bool:
        """Whether the gradient of a batch of `rows` samples runs in reverse mode: as asked,
        or with "auto" from `reverse_from` weights, or from `reverse_from_work` weights times
        samples (forward mode's work grows with both, reverse mode's with the samples alone,
        plus a fixed cost; benchmarks/bench_reverse.py measures the crossover)."""
        if self.mode != "auto":
            return self.mode == "reverse"
        return weights.size >= self.reverse_from or weights.size * rows >= self.reverse_from_work

    reverse_from = 64
    reverse_from_work = 32_768

    def _reverse(self, weights: Weights, params: Sequence[Sequence[Any]], x: np.ndarray,
                 y: np.ndarray, repair: bool, flat: np.ndarray | None
                 ) -> tuple[float, np.ndarray]:
        """The loss and its gradient by one reverse pass: the rules' linear equations recorded
        on symbolic tangents of every weight, and run back from the loss."""
        out, grad = reverse_pass(self.loss_of, [len(ws) for ws in params],
                                 [w for ws in params for w in ws], x, y)
        if repair and np.isnan(grad).any() and math.isfinite(float(out)):
            # an infinite slope met a zero cotangent: forward mode keeps the zero (see _zeros)
            mode, self.mode = self.mode, "forward"
            try:
                return self.value_and_gradient(weights, x, y, flat, repair=True)
            finally:
                self.mode = mode
        return float(out), grad

    def forward_gradient(self, weights: Weights, x: np.ndarray, y: np.ndarray,
                         rng: np.random.Generator, mode: Mode | None = None
                         ) -> tuple[float, np.ndarray]:
        """The loss and a forward gradient ``(grad . v) v``, v ~ N(0, I): one direction, the
        layers run in `mode` (None: the current one)."""
        v = rng.standard_normal(weights.size)
        tag = new_tag()
        params = [[Variable._make(w, t, tag) for w, t in zip(ws, ts)]
                  for ws, ts in zip(weights.params, weights.views(v.reshape(1, -1)))]
        token = None if mode is None else enter(mode)
        try:
            out = self.loss_of(params, x, y)
        finally:
            if token is not None:
                leave(token)
        if isinstance(out, Variable) and out.tag == tag:
            return float(out.value), float(out.tangent[0]) * v
        return float(out), np.zeros_like(v)


def _value_and_tangent(out: Any, tag: int, directions: int) -> tuple[Any, np.ndarray]:
    """A pass's loss and its tangent along the pass's directions, as float64."""
    if type(out) is Variable and out.tag == tag:
        return _as_gradient(out.value, out.tangent)
    return out, np.zeros(directions)  # the loss does not depend on these weights


def _as_gradient(value: Any, tangent: Any) -> tuple[Any, np.ndarray]:
    """The loss and its tangent as a float64 array of the caller's own (a folded tangent is
    shared and read-only, a broadcast view too)."""
    if type(tangent) is not np.ndarray or tangent.dtype != np.float64 \
            or not tangent.flags.writeable:
        tangent = np.array(tangent, dtype=np.float64)
    return value, tangent
