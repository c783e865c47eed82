"""The training loop of `Model.fit`: batches, epochs, steps and the optimizer state carried
from step to step; what it reports is in `_history`, the optimizer's update in `_updating`."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from ._errors import NonFiniteLossError, ShapeError
from ._gradients import GradientEngine
from ._history import History, progress
from ._updating import all_finite, loss_and_grad, updated
from ._weights import Weights
from .callbacks import Callback
from .layers.base import Mode
from .losses import Loss
from .losses.weighted import SampleWeighted
from .optimizers import Optimizer

__all__ = ["Trainer"]


class _Trained(Protocol):
    """What the loop reads of the model it trains: parts a callback may replace mid-fit."""

    stop_training: bool

    @property
    def loss(self) -> Loss: ...

    @property
    def optimizer(self) -> Optimizer: ...

    @property
    def metrics(self) -> Sequence[Any]: ...

    def evaluate(self, x: Any, y: Any, return_dict: bool = False) -> Any: ...

    def _metric_values(self, x: np.ndarray, y: np.ndarray) -> dict[str, float]: ...


class Trainer:
    """A model's training loop, and the optimizer state it carries from step to step.

    Args:
        engine: computes the loss and its gradient.
        rng: shuffles the batches and draws forward-gradient directions.
    """

    def __init__(self, engine: GradientEngine, rng: np.random.Generator) -> None:
        self.engine = engine
        self.rng = rng
        self.state: Any = None
        self._state_for: Optimizer | None = None  # the optimizer whose state that is
        self.fixed = False  # whether the batches are the fit's private, unchanging copies
        self._mode: Mode | None = None  # the training mode the steps run in (see `step`)
        self.sharded: Any = None  # computes the gradients on an executor, when fit has one
        # the last fit's private full-batch data, kept with its recorded programs when small
        # (see `_private_data`)
        self._data: tuple[np.ndarray, np.ndarray] | None = None

    def __getstate__(self) -> dict[str, Any]:
        """A copy travels without the last fit's data (its programs stay behind too)."""
        return {**self.__dict__, "_data": None}

    def state_of(self, opt: Optimizer) -> Any:
        """The state of `opt` after the last step, or None if it has taken none."""
        return self.state if self._state_for is opt else None

    def state_for(self, opt: Optimizer, weights: Weights) -> Any:
        """The state of `opt`: its last, or a fresh one for the current weights."""
        return self._optimizer_state(opt, weights)

    def reset(self) -> None:
        """Forget the optimizer state: the next step initialises it (a new optimizer)."""
        self.state = self._state_for = None

    def fit(self, model: _Trained, weights: Weights, x: np.ndarray, y: np.ndarray,
            val: tuple[np.ndarray, np.ndarray] | None, epochs: int, size: int, shuffle: bool,
            hooks: Sequence[Callback], verbose: bool,
            sample_weights: np.ndarray | None = None, sharded: Any = None) -> History:
        """`Model.fit` on checked data: `epochs` passes in batches of `size`, each sample's
        loss weighed by `sample_weights` if given; each step's gradient from `sharded` (a
        `_sharding.Sharded`, on an executor) if given."""
        self._optimizer_state(model.optimizer, weights)
        self.sharded = sharded
        self.previous: np.ndarray | None = None  # the weights before the last step
        n = x.shape[0]
        batches = None
        targets = y  # what the steps read: y, and the samples' weights as one more column
        if sample_weights is not None:
            targets = np.concatenate([y, sample_weights.reshape(-1, 1)], axis=1)
            self._weigh(y.shape[1])
        self.fixed = False
        if size == n or not shuffle:
            # Full-batch training: the data is a private read-only copy, fixed for the step's
            # recorded program (see `_programs`), when the copy takes little of the budget.
            # (Unshuffled mini-batches would each need a program of their own, recorded and
            # kept, to save a copy of columns per step: they share their shape's, as shuffled
            # ones do.)
            self.fixed = size == n and x.nbytes + targets.nbytes <= self.engine.memory_budget // 8
            if self.fixed:  # one batch: the arrays themselves, which its program is for
                x, targets = self._private_data(x, targets)
                batches = [(x, targets)]
            else:
                batches = [(x[i:i + size], targets[i:i + size]) for i in range(0, n, size)]
        names = [m.name for m in model.metrics]
        history = History.reporting(names, val is not None)
        losses = history.history["loss"]
        model.stop_training = False
        loss = model.loss
        for cb in hooks:
            cb.on_train_begin(model)
        loss = _targets_checked(model.loss, loss, y, val)
        bar = progress(epochs, verbose)
        # An overflow on the way to a non-finite loss or weight is caught by `step` and raised
        # as NonFiniteLossError; NumPy's RuntimeWarnings would only precede that error (or,
        # with warnings as errors, replace it).
        try:
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                for epoch in range(int(epochs)):
                    if batches is None:
                        order = self.rng.permutation(n)
                        epoch_batches: Any = ((x[order[i:i + size]],
                                               targets[order[i:i + size]])
                                              for i in range(0, n, size))
                    else:
                        epoch_batches = batches
                    total = 0.0
                    for xb, yb in epoch_batches:
                        total += self.step(model.optimizer, weights, xb, yb) * xb.shape[0]
                    history.epoch.append(epoch)
                    losses.append(total / n)
                    if val is None and not hooks and bar is None and not names:
                        continue  # nothing else to report (and no callback to stop training)
                    logs = {"loss": total / n, **model._metric_values(x, y)}
                    if val is not None:
                        val_logs = model.evaluate(*val, return_dict=True)
                        logs.update({f"val_{k}": v for k, v in val_logs.items()})
                    history.record(logs)
                    for cb in hooks:
                        cb.on_epoch_end(epoch, logs, model)
                    loss = _targets_checked(model.loss, loss, y, val)
                    if sample_weights is not None:  # a loss assigned by a callback, weighed
                        self._weigh(y.shape[1])
                    if bar is not None:
                        bar.set_postfix({k: f"{v:.4g}" for k, v in logs.items()}, refresh=False)
                        bar.update(1)
                    if model.stop_training:
                        break
        finally:
            self.sharded = None
            if isinstance(self.engine.loss, SampleWeighted):
                self.engine.loss = self.engine.loss.loss
            if bar is not None:
                bar.close()
            if self.fixed and x.nbytes + targets.nbytes + self.engine.programs.kept_bytes \
                    + self.engine.reverse_programs.kept_bytes <= KEPT_BETWEEN_FITS:
                self._data = (x, targets)
            else:
                self._release()
            self.fixed = False
        for cb in hooks:
            cb.on_train_end(model)
        return history

    def _private_data(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Full-batch data as private read-only copies: the last fit's when it trained on the
        very same numbers (the programs recorded for them serve again: a loop of
        ``fit(epochs=1)`` records its step once), new ones otherwise."""
        kept = self._data
        if kept is not None and _same_numbers(kept[0], x) and _same_numbers(kept[1], y):
            return kept
        self._release()
        return _private(x), _private(y)

    def _release(self) -> None:
        """Forget the programs of the fit's data, and the data."""
        self._data = None
        self.engine.programs.release_fixed()
        self.engine.reverse_programs.release_fixed()

    def _weigh(self, columns: int) -> None:
        """Make the engine train its loss weighed by the targets' last column."""
        if not isinstance(self.engine.loss, SampleWeighted):
            self.engine.loss = SampleWeighted(self.engine.loss, columns)

    def _optimizer_state(self, opt: Optimizer, weights: Weights) -> Any:
        """The optimizer's state, initialised for the current weights when the optimizer is new
        (the first fit, or one assigned since the last step, from a callback too)."""
        if self._state_for is not opt:
            self.state = opt.init([weights.flat.copy()] if opt.flat_weights
                                  else [w.copy() for w in weights.arrays()])
            self._state_for = opt
        return self.state

    def step(self, opt: Optimizer, weights: Weights, x: np.ndarray, y: np.ndarray) -> float:
        """One update by `opt` on the batch (x, y); returns the batch's loss before it. The
        layers run in training mode (see `dualgrad.layers.current_mode`): the engine sets it
        where it runs them at all (a replayed step runs none)."""
        mode = self._mode
        if mode is None or mode._layers is not self.engine.layers:
            mode = self._mode = Mode(True, self.rng, self.engine.layers)
        mode.renew()
        opt_state = self._optimizer_state(opt, weights)
        engine = self.sharded or self.engine
        if opt.gradient_estimate == "forward":
            value, grad = engine.forward_gradient(weights, x, y, self.rng, mode=mode)
        else:
            value, grad = engine.value_and_gradient(weights, x, y, fixed=self.fixed, mode=mode)
        flat = weights.flat
        if not math.isfinite(value):
            if self.previous is not None:  # back to the weights whose loss was finite
                np.copyto(flat, self.previous)
            raise NonFiniteLossError(
                f"the loss became {value} on a batch; training stopped and the model keeps the "
                "last weights whose loss was finite. Lower the learning rate or check the "
                "data's scale")
        new_flat, state = self._update(opt, opt_state, weights, grad, x, y, mode)
        if new_flat.shape != flat.shape:
            raise ShapeError(
                f"the optimizer {opt!r} returned {new_flat.size} new weight value(s) for "
                f"{flat.size} weights; training stopped and the model keeps its weights. An "
                "optimizer's update must return one array per weight array, of its shape")
        finite = all_finite(new_flat)
        if not finite and opt.gradient_estimate != "forward" and np.isnan(grad).any():
            # an infinite slope met a zero tangent (see _zeros): the gradient again, repaired
            value, grad = engine.value_and_gradient(weights, x, y, repair=True, mode=mode)
            new_flat, state = self._update(opt, opt_state, weights, grad, x, y, mode)
            finite = all_finite(new_flat)
        if not finite:
            raise NonFiniteLossError(
                "a step produced NaN or infinite weights; training stopped and the model keeps "
                "its last finite weights. Lower the learning rate or check the data's scale")
        # into the same buffer, so the layers' views of it stay valid from step to step; the
        # weights just scored are kept, in case the next loss is not finite
        if self.previous is None or self.previous.shape != flat.shape:
            self.previous = np.empty_like(flat)
        self.previous[...] = flat
        flat[...] = new_flat
        self.state = state
        return value

    def _update(self, opt: Optimizer, opt_state: Any, weights: Weights, grad: np.ndarray,
                x: np.ndarray, y: np.ndarray, mode: Mode) -> tuple[np.ndarray, Any]:
        """The optimizer's new weights, as one flat float64 vector, and its new state."""
        if not opt.needs_loss:
            return updated(opt, opt_state, weights, grad)
        engine = self.sharded or self.engine
        return updated(opt, opt_state, weights, grad,
                       loss_and_grad(engine, opt.flat_weights, weights, x, y, self.fixed, mode))


def _targets_checked(loss: Loss, checked: Loss, y: np.ndarray,
                     val: tuple[np.ndarray, np.ndarray] | None) -> Loss:
    """`loss`, its targets checked if it is not `checked` (a callback assigned it), as fit
    checks them before the first step."""
    if loss is not checked:
        loss.check_targets(y)
        if val is not None:
            loss.check_targets(val[1])
    return loss


# the most bytes of full-batch data and of what its programs fold that a model keeps from one
# fit to the next (for small data, recording the step costs more than many steps)
KEPT_BETWEEN_FITS = 1 << 20


def _same_numbers(kept: np.ndarray, a: np.ndarray) -> bool:
    """Whether `a` holds the very numbers of `kept` (bit for bit: -0.0 is not 0.0)."""
    if kept.shape != a.shape or kept.dtype != a.dtype:
        return False
    return bool(np.array_equal(kept.view(np.uint8), np.ascontiguousarray(a).view(np.uint8)))


def _private(a: np.ndarray) -> np.ndarray:
    """A read-only copy of `a` that nothing else can write."""
    a = a.copy()
    a.flags.writeable = False
    return a
