"""`Model`: layers, a loss and an optimizer, declared and trained with forward-mode gradients.

The model holds its parts and weights, and is split by concern: its configuration in and out
(`_configuring`), its weights (`_building`, the buffer in `_weights`), what it computes for
callers (`_predicting`); its gradient engine (`_gradients`) computes the loss and its gradient,
its trainer (`_training`) runs `fit`, whose report is in `_history`; `_model_file` writes and
reads its files.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import _budget, _data, _model_file, _sharding, _training_state
from ._building import _Building
from ._configuring import _Configuring
from ._errors import ConfigError, DataError
from ._gradients import GradientEngine
from ._history import History, checked_callbacks, warn_if_nothing_learnt
from ._parts import resolve
from ._predicting import _Predicting
from ._training import Trainer
from ._weights import Weights
from .callbacks import Callback
from .layers import Layer
from .losses import Loss
from .losses.weighted import SampleWeighted
from .metrics import Metric
from .optimizers import Optimizer

__all__ = ["History", "Model"]


class Model(_Configuring, _Building, _Predicting):
    """A stack of layers trained on a loss by an optimizer.

    The gradient comes from forward mode, where every scalar parameter is a tangent direction,
    seeded automatically (one vectorised pass gives the gradient of all P parameters, or
    several passes of a chunk of directions when P times the activations would exceed
    `memory_budget` bytes), or from reverse mode, where the rules' linear equations are
    recorded and run backwards from the loss (the cost of a few forward passes whatever P).

    Args:
        layers: each a `Layer`, a registered layer name, or a config dict with a ``"type"``.
        loss: a `Loss`, a registered name, or a config dict.
        optimizer: an `Optimizer`, a registered name, or a config dict.
        seed: seeds the initial weights and the shuffling; None draws one (kept in the
            config, so a model rebuilt from `get_config` trains identically).
        input_shape: the per-sample input shape; None builds the model on the first data.
        memory_budget: the bytes of tangents a gradient pass may hold; by default the
            process's budget (`dualgrad.get_memory_budget`, 1 GiB unless set).
        metrics: scores to report, each a `Metric`, a registered name ("accuracy", "auc",
            "mae", ...) or a config dict: after every epoch of `fit` (into `History` as
            ``name`` and ``val_name``) and by ``evaluate(x, y, return_dict=True)``.
        gradient: "forward", "reverse", or "auto" (the default): forward mode while the
            weights are few (see `GradientEngine.reverse`), reverse mode beyond.

    Examples:
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
                 memory_budget: int | None = None, metrics: Sequence[Any] = (),
                 gradient: str = "auto") -> None:
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
        parts = [resolve("layer", spec, Layer) for spec in layers]
        lossobj = resolve("loss", loss, Loss)
        if isinstance(metrics, (str, dict, Metric)) or not isinstance(metrics, Sequence):
            raise ConfigError("metrics must be a list of metrics, names or configs; got "
                              f"{metrics!r}")
        self.metrics: list[Metric] = [resolve("metric", spec, Metric) for spec in metrics]
        names = [m.name for m in self.metrics]
        if len(set(names)) < len(names):
            raise ConfigError(f"metrics {names} name one metric twice; each is reported by "
                              "its name, so give each once")
        self._optimizer: Optimizer = resolve("optimizer", optimizer, Optimizer)
        self.seed = int(seed)
        self.stop_training = False
        self._rng = np.random.default_rng(self.seed)
        self._weights: Weights | None = None
        self._gradients = GradientEngine(parts, lossobj, int(memory_budget), gradient)
        self._trainer = Trainer(self._gradients, self._rng)
        if input_shape is not None:
            self.build(tuple(input_shape))

    @property
    def layers(self) -> list[Layer]:
        """The layers, first to last; the list the model computes with, so replacing a layer
        in it (or the whole list, before the model is built) takes effect at the next call."""
        return self._gradients.layers

    @layers.setter
    def layers(self, value: Sequence[Any]) -> None:
        self._gradients.layers = [resolve("layer", spec, Layer) for spec in value]

    @property
    def loss(self) -> Loss:
        """The loss; assigning a new one (object, name or config) takes effect at once."""
        loss = self._gradients.loss
        # during a fit with sample weights, the engine trains the loss weighed
        return loss.loss if isinstance(loss, SampleWeighted) else loss

    @loss.setter
    def loss(self, value: Any) -> None:
        # read by every step, so one assigned from a callback during fit trains the next step
        self._gradients.loss = resolve("loss", value, Loss)

    @property
    def optimizer(self) -> Optimizer:
        """The optimizer; assigning a new one starts it from a fresh state."""
        return self._optimizer

    @optimizer.setter
    def optimizer(self, value: Any) -> None:
        # the next step (also one of a fit under way) initialises the new optimizer's state
        self._optimizer = resolve("optimizer", value, Optimizer)
        self._trainer.reset()

    @property
    def memory_budget(self) -> int:
        """The bytes of tangents one gradient pass may hold; chunks are sized from it."""
        return self._gradients.memory_budget

    @memory_budget.setter
    def memory_budget(self, value: int) -> None:
        self._gradients.memory_budget = _budget.checked(value)

    @property
    def optimizer_state(self) -> Any:
        """The optimizer's state after the last step (None before training)."""
        return self._trainer.state

    def __repr__(self) -> str:
        parts = ", ".join(repr(layer) for layer in self.layers)
        return f"Model([{parts}], loss={self.loss!r}, optimizer={self.optimizer!r})"

    # ---- computing ----------------------------------------------------------------------------

    def gradient(self, x: Any, y: Any, *, executor: Any = None, shards: int | None = None,
                 timeout: float | None = None) -> list[np.ndarray]:
        """d loss / d weights on (x, y), as arrays shaped like `get_weights`.

        With an `executor` (a `concurrent.futures.Executor`: a ProcessPoolExecutor, or a Dask
        client's ``get_executor()``), the samples are cut into `shards` (None: one per worker),
        one task each, and the shards' gradients summed, weighed by their sizes; `timeout`
        bounds the wait (seconds). A failed task raises `ExecutorError`.
        """
        x, y_or_none = self._data(x, y)
        self.build(x.shape[1:])
        y = _data.require_targets(y_or_none)
        weights = self._built_weights()
        if executor is not None:
            return weights.arrays(_sharding.gradient(self, weights, x, y, executor, shards,
                                                     timeout))
        with np.errstate(invalid="ignore"):  # a NaN is looked for below, and reported there
            flat = self._gradients.value_and_gradient(weights, x, y)[1]
        if np.isnan(flat).any():  # an infinite slope met a zero tangent: see _zeros
            flat = self._gradients.value_and_gradient(weights, x, y, repair=True)[1]
        return weights.arrays(flat)

    # ---- training -----------------------------------------------------------------------------

    def fit(self, x: Any, y: Any, epochs: int = 1, batch_size: int | None = None,
            shuffle: bool = True, validation_data: tuple[Any, Any] | None = None,
            callbacks: Sequence[Callback | Callable[[int, dict[str, float]], Any]] = (),
            verbose: bool = True, validation_split: float = 0.0,
            sample_weight: Any = None, class_weight: dict[Any, float] | None = None,
            *, executor: Any = None, shards: int | None = None, timeout: float | None = None
            ) -> History:
        """Train for `epochs` passes over (x, y) in mini-batches of `batch_size` (None: all).

        Args:
            validation_split: the fraction of the samples, taken from the end of x and y
                before any shuffling (as Keras does), held out as validation data.
            sample_weight: one weight >= 0 per sample: the loss is ``mean(w * loss_i)``.
            class_weight: ``{class: weight}``, multiplying the weight of each sample of that
                class (a label, or the argmax of a one-hot row); classes not named weigh 1.
            executor: run each step's gradient data-parallel on it (see `gradient`): each batch
                cut into `shards`, the weights sent once per step; a failed step raises
                `ExecutorError` and leaves the weights as they were before it. The metrics
                and validation are computed here.

        Every check on the arguments and the data runs before the first step, so a bad call
        leaves the model as it was. If the loss turns NaN or infinite, training stops with
        `NonFiniteLossError` and the model keeps its last finite weights.

        When one pass covers every weight, batches that repeat every epoch (all of x, or
        unshuffled slices) come from a private read-only copy of the data, so that tangents
        depending on the data alone are reused from step to step (when those fit in a quarter
        of `memory_budget`); `x` and `y` themselves are never written. Do not change them while
        fit runs (from a callback): whether a change is seen depends on that choice.
        """
        _data.checked_fit_settings(epochs, batch_size, shuffle)
        x, y_or_none = self._data(x, y)
        y = _data.require_targets(y_or_none)
        weights = _data.sample_weights(sample_weight, class_weight, y)
        if weights is not None and type(self.loss).per_sample is Loss.per_sample:
            self.loss.per_sample(y, y)  # says, before training, that it cannot weigh samples
        val = None
        if validation_split:
            if validation_data is not None:
                raise ConfigError("give validation_data or validation_split, not both")
            x, y, weights, val = _data.split_off(validation_split, x, y, weights)
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                raise DataError("validation_data must be a pair (x_val, y_val)")
            if validation_data[1] is None:
                raise DataError("validation_data must have the shapes of the training data "
                                "per sample, targets too; got None for y_val")
            x_val = _data.as_matrix(validation_data[0], "validation x")
            y_val = self.loss.targets(_data.as_matrix(validation_data[1], "validation y"),
                                      y.shape[1:])
            if x_val.shape[1:] != x.shape[1:] or y_val.shape[1:] != y.shape[1:]:
                raise DataError("validation_data must have the shapes of the training data "
                                f"per sample: x {x.shape[1:]}, y {y.shape[1:]}")
            x_val, checked_y = self._data(x_val, y_val)
            val = (x_val, _data.require_targets(checked_y))
        reported = ["loss", *(m.name for m in self.metrics)]
        if val is not None:
            reported += [f"val_{name}" for name in reported]
        hooks = checked_callbacks(callbacks, reported)
        sharded = None if executor is None else _sharding.Sharded(self, executor, shards,
                                                                   timeout, training=True)
        # y was checked against the output shape before building, so a bad call leaves an
        # unbuilt model unbuilt
        self._adapt(x, only_new=True)
        self.build(x.shape[1:])
        size = x.shape[0] if batch_size is None else min(int(batch_size), x.shape[0])
        history = self._trainer.fit(self, self._built_weights(), x, y, val, epochs, size,
                                    bool(shuffle), hooks, verbose, weights, sharded)
        if weights is None:
            warn_if_nothing_learnt(self.loss, x, y, history, self.predict_classes)
        return history

    # ---- files --------------------------------------------------------------------------------

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the config and weights to one ``.npz`` file, atomically, with what resumes
        training: the optimizer's state and the random generator's, so that a model loaded
        and fitted on continues exactly as the saved one would have.

        The file is written beside `path` and renamed over it, so a crash mid-save leaves any
        earlier file whole; a file saved over keeps its permissions.
        """
        training: dict[str, Any] = {"rng": self._rng.bit_generator.state}
        arrays: list[np.ndarray] = []
        state = self._trainer.state_of(self.optimizer)
        flat = None if state is None else _training_state.flatten(state)
        if flat is not None:  # (a state of another shape than optax's is not kept)
            arrays, training["optimizer_state"] = flat
        _model_file.save(path, self.get_config(), self.get_weights(), training, arrays)

    def _resume(self, training: dict[str, Any], arrays: list[np.ndarray]) -> None:
        """Take up the training state a file holds (see `save`); ValueError if it does not
        fit this model."""
        rng = training.get("rng")
        if rng is not None:
            try:
                self._rng.bit_generator.state = rng
            except (TypeError, KeyError, ValueError) as exc:
                raise ValueError(f"its random generator's state is not usable ({exc})") from None
        scalars = training.get("optimizer_state")
        if scalars is not None:
            if not isinstance(scalars, list):
                raise ValueError("its optimizer state is not a list of numbers")
            weights = self._built_weights()
            template = self._trainer.state_for(self.optimizer, weights)
            self._trainer.state = _training_state.rebuild(template, arrays, scalars)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Model:
        """Read a model written by `save`; a missing, corrupt or foreign file raises
        `ModelFileError`.

        The file is checked before the model is built (its weights against what its config
        implies, each part's size against the file's), and never unpickled.
        """
        return _model_file.load(cls.from_config, path)
