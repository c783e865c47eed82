"""`Model`: layers, a loss and an optimizer, declared and trained with forward-mode gradients.

The model holds its configuration and weights; its gradient engine (`_gradients`) computes the
loss and its gradient, its trainer (`_training`) runs `fit`; `_model_file` reads its files.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import _budget, _data, _model_file, _sharding, _training_state
from ._errors import ConfigError, DataError, ShapeError, TrainingWarning
from ._gradients import GradientEngine
from ._parts import describe, resolve
from ._toml import read_toml
from ._training import History, Trainer, checked_callbacks
from ._weights import Weights
from .callbacks import Callback
from .layers import Layer
from .losses import LogLoss, Loss, SoftmaxCrossEntropy
from .losses.weighted import SampleWeighted
from .metrics import Metric
from .optimizers import Optimizer

__all__ = ["History", "Model"]

_MODEL_KEYS = ("layers", "loss", "optimizer", "metrics", "seed", "input_shape",
               "memory_budget", "gradient")


class Model:
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
        layers = config.get("layers")
        for key in missing:
            # in TOML, a key written after a [[layers]] table belongs to that layer
            holders = [i for i, layer in enumerate(layers, start=1)
                       if isinstance(layer, dict) and key in layer] \
                if isinstance(layers, list) else []
            if holders:
                raise ConfigError(f"layer {holders[0]} has no option {key!r}; the model's "
                                  f"{key} goes before the first [[layers]] table (in TOML a "
                                  "key after a table header belongs to that table)")
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
            "layers": [describe("layer", layer) for layer in self.layers],
            "loss": describe("loss", self.loss),
            "optimizer": describe("optimizer", self.optimizer),
            "seed": self.seed,
            "memory_budget": self.memory_budget,
            "gradient": self._gradients.mode,
        }
        if self.metrics:
            config["metrics"] = [describe("metric", m) for m in self.metrics]
        if self._weights is not None:
            config["input_shape"] = list(self._weights.input_shape)
        return config

    def __repr__(self) -> str:
        parts = ", ".join(repr(layer) for layer in self.layers)
        return f"Model([{parts}], loss={self.loss!r}, optimizer={self.optimizer!r})"

    # ---- weights ------------------------------------------------------------------------------

    def adapt(self, x: Any) -> None:
        """Adapt each layer that learns from data (a normalization) to the inputs `x` give
        it, in order; `fit` does this for layers not adapted yet."""
        x = _data.as_matrix(x, "x")
        self._adapt(x, only_new=False)

    def _adapt(self, x: np.ndarray, only_new: bool) -> None:
        layers = self.layers
        for i, layer in enumerate(layers):
            adapt = getattr(layer, "adapt", None)
            if adapt is None or (only_new and getattr(layer, "adapted", True)):
                continue
            inputs = x
            if i:  # the inputs reaching it: the layers before it, at their current weights
                self.build(x.shape[1:])
                weights = self._built_weights()
                for before, ws in zip(layers[:i], weights.params):
                    inputs = before(ws, inputs)
                inputs = np.asarray(inputs)
            layers[i] = adapt(inputs)

    def build(self, input_shape: tuple[int, ...]) -> None:
        """Create the weights for samples of shape `input_shape` (done by the first `fit`)."""
        if isinstance(input_shape, (int, np.integer)):
            input_shape = (input_shape,)
        if not all(isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d > 0
                   for d in input_shape):
            raise ConfigError(f"input_shape must be positive ints, one per sample axis; got "
                              f"{tuple(input_shape)!r}")
        input_shape = tuple(int(d) for d in input_shape)
        if self._weights is not None:
            if input_shape != self._weights.input_shape:
                raise ShapeError(f"this model takes samples of shape "
                                 f"{self._weights.input_shape}, got {input_shape}")
            return
        self._weights = Weights.create(self.layers, input_shape, self._rng)

    @property
    def built(self) -> bool:
        return self._weights is not None

    def _built_weights(self) -> Weights:
        if self._weights is None:
            raise ConfigError("this model has no weights yet: call fit (or build with the "
                              "input shape) first, or pass input_shape")
        return self._weights

    @property
    def num_params(self) -> int:
        """The number of scalar parameters."""
        return self._built_weights().size

    def summary(self, print_fn: Callable[[str], Any] | None = print) -> str:
        """A table of the layers, each one's output shape and weight count, and the total;
        printed by `print_fn` (None: only returned).

        Example:
            >>> import dualgrad as dg
            >>> model = dg.Model([{"type": "dense", "units": 2}, {"type": "dense", "units": 1}],
            ...                  "mse", "adam", seed=0, input_shape=(3,))
            >>> text = model.summary()
            layer                              output shape      weights
            dense(2)                           (2,)                    8
            dense(1)                           (1,)                    3
            total                                                     11
        """
        weights = self._built_weights()
        rows = [("layer", "output shape", "weights")]
        shape = weights.input_shape
        for layer, cuts in zip(self.layers, weights.layout):
            shape = layer.output_shape(shape)
            label = layer.name + (f"({layer.units})" if hasattr(layer, "units") else "")
            rows.append((label, str(tuple(shape)), str(sum(c.stop - c.start for c, _ in cuts))))
        rows.append(("total", "", str(weights.size)))
        text = "\n".join(f"{a:<34} {b:<12} {c:>12}" for a, b, c in rows)
        if print_fn is not None:
            print_fn(text)
        return text

    def get_weights(self) -> list[np.ndarray]:
        """Copies of the weights, each layer's kernel then its bias."""
        return [w.copy() for w in self._built_weights().arrays()]

    def set_weights(self, weights: Sequence[Any]) -> None:
        """Replace the weights by arrays shaped and ordered as `get_weights` gives them."""
        built = self._built_weights()
        built.replace(built.flatten(weights))

    # ---- computing ----------------------------------------------------------------------------

    def _data(self, x: Any, y: Any = None) -> tuple[np.ndarray, np.ndarray | None]:
        """Validated float copies of x (N, *input) and y (N, outputs), y as the loss reads it
        (class labels one-hot for a softmax cross-entropy, say)."""
        weights = self._weights
        if weights is not None:
            return _data.checked(x, y, weights.input_shape, weights.output_shape, self.loss)
        x = _data.as_matrix(x, "x")
        return _data.checked(x, y, None, None if y is None else self._output_shape(x.shape[1:]),
                             self.loss)

    def _output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """The per-sample output shape for samples of `input_shape`, from the layers."""
        shape = input_shape
        for layer in self.layers:
            shape = layer.output_shape(shape)
        return tuple(shape)

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

    def predict(self, x: Any) -> np.ndarray:
        """The model's outputs for `x`, shape ``(N, *outputs)``."""
        x, _ = self._data(x)
        return np.asarray(self._gradients.forward(self._built_weights().params, x))

    def predict_proba(self, x: Any) -> np.ndarray:
        """The class probabilities the model's outputs stand for under its loss: the sigmoid
        output itself, or the sigmoid or softmax of logits; shape ``(N, *outputs)``.

        Example:
            >>> import numpy as np, dualgrad as dg
            >>> model = dg.Model([{"type": "dense", "units": 3}], "softmax_cross_entropy",
            ...                  "adam", seed=0, input_shape=(2,))
            >>> model.predict_proba(np.zeros((4, 2))).sum(axis=1)
            array([1., 1., 1., 1.])
        """
        return np.asarray(self.loss.probabilities(self.predict(x)))

    def predict_classes(self, x: Any) -> np.ndarray:
        """The predicted class of each sample, as ints: for one output, whether its probability
        is at least 0.5; for K outputs, the most probable (argmax)."""
        proba = self.predict_proba(x)
        if proba.shape[1:] == (1,):
            return (proba[:, 0] >= 0.5).astype(np.int64)
        return np.asarray(np.argmax(proba, axis=-1), dtype=np.int64)

    def evaluate(self, x: Any, y: Any, return_dict: bool = False, *, executor: Any = None,
                 shards: int | None = None, timeout: float | None = None) -> Any:
        """The loss on (x, y); with `return_dict`, ``{"loss": ..., metric name: ...}`` with
        the value of each of the model's metrics too. With an `executor` (see `gradient`),
        the shards' losses are weighed by their sizes, and the metrics computed here from
        the outputs the shards return."""
        x, y_or_none = self._data(x, y)
        y = _data.require_targets(y_or_none)
        outputs = None
        if executor is not None:
            loss, outputs = _sharding.evaluate(self, self._built_weights(), x, y, executor,
                                               shards, timeout)
        else:
            loss = float(self._gradients.loss_of(self._built_weights().params, x, y))
        if not return_dict:
            return loss
        return {"loss": loss, **self._metric_values(x, y, outputs)}

    def _metric_values(self, x: np.ndarray, y: np.ndarray,
                       outputs: np.ndarray | None = None) -> dict[str, float]:
        """Each metric's value on checked data (y as the loss reads it), from the model's
        `outputs` for x when given."""
        if not self.metrics:
            return {}
        if outputs is None:
            outputs = np.asarray(self._gradients.forward(self._built_weights().params, x))
        proba: np.ndarray | None = None
        values = {}
        for metric in self.metrics:
            pred = outputs
            if metric.reads == "probabilities":
                if proba is None:
                    try:
                        proba = np.asarray(self.loss.probabilities(outputs))
                    except ConfigError:  # a loss of no classifier (mse): its outputs, then
                        proba = outputs
                pred = proba
            values[metric.name] = float(metric(y, pred))
        return values

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
            self._warn_if_nothing_learnt(x, y, history)
        return history

    def _warn_if_nothing_learnt(self, x: np.ndarray, y: np.ndarray, history: History) -> None:
        """Warn when a classifier ends predicting one class for every sample, its loss flat at
        the class frequencies' own: it learnt nothing from the features."""
        losses = history.history["loss"]
        if not isinstance(self.loss, (LogLoss, SoftmaxCrossEntropy)) or y.ndim != 2 \
                or len(losses) < 3 or np.ptp(losses[-3:]) > 0.01 * abs(losses[-1]):
            return
        freq = np.mean(y, axis=0)
        if y.shape[1] == 1:
            freq = np.array([freq[0], 1.0 - freq[0]])
        freq = freq[freq > 0]
        if freq.size < 2:
            return
        chance = float(-np.sum(freq * np.log(freq)))
        if abs(losses[-1] - chance) > 0.02 * chance:
            return
        classes = np.unique(self.predict_classes(x))
        if classes.size > 1:
            return
        spread = np.std(x.reshape(x.shape[0], -1), axis=0)
        warnings.warn(
            f"fit ended predicting class {int(classes[0])} for every sample, its training loss "
            f"flat at {losses[-1]:.4g}, that of predicting the class frequencies "
            f"({chance:.4g}): the model learnt nothing from the features. Their "
            f"standard deviations range from {spread.min():.3g} to {spread.max():.3g}; if "
            "they are unscaled, standardise them (a 'normalization' first layer, or [fit] "
            "standardize = true), else lower the learning rate or train longer",
            TrainingWarning, stacklevel=2)

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
