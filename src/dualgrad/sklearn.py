"""scikit-learn estimators around `dualgrad.Model`: `DualgradClassifier` and
`DualgradRegressor` (needs scikit-learn: ``pip install "dualgrad[sklearn]"``).

Their parameters are the Model's and fit's, by the same names; the defaults make a complete
estimator: one hidden layer of 32 relu units, Adam, and a loss fitted to the task (log-loss on
one sigmoid output for two classes, softmax cross-entropy on K logits for more, mean squared
error for regression). `layers` are the hidden layers; the output layer is added to fit the
classes or targets. Labels may be any values NumPy can sort (strings, ints).

Example:
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from dualgrad.sklearn import DualgradClassifier
    >>> x, y = load_iris(return_X_y=True)
    >>> clf = make_pipeline(StandardScaler(), DualgradClassifier(epochs=100, seed=0))
    >>> clf.fit(x, y).score(x, y) > 0.9
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.utils.multiclass import check_classification_targets
    from sklearn.utils.validation import (
        _check_sample_weight,
        check_is_fitted,
        column_or_1d,
        validate_data,
    )
except ImportError as exc:  # pragma: no cover - exercised without scikit-learn only
    raise ImportError("dualgrad.sklearn needs scikit-learn: pip install 'dualgrad[sklearn]'"
                      ) from exc

from .model import History, Model

__all__ = ["DualgradClassifier", "DualgradRegressor"]

_HIDDEN = ({"type": "dense", "units": 32, "activation": "relu"},)


class _DualgradEstimator(BaseEstimator):  # type: ignore[misc]
    """What the classifier and the regressor share: parameters, the model, pickling."""

    def __init__(self, layers: Sequence[Any] | None = None, loss: Any = None,
                 optimizer: Any = "adam", metrics: Sequence[Any] = (), seed: int | None = None,
                 epochs: int = 100, batch_size: int | None = 32,
                 validation_split: float = 0.0, shuffle: bool = True,
                 callbacks: Sequence[Any] = (), verbose: bool = False) -> None:
        self.layers = layers
        self.loss = loss
        self.optimizer = optimizer
        self.metrics = metrics
        self.seed = seed
        self.epochs = epochs
        self.batch_size = batch_size
        self.validation_split = validation_split
        self.shuffle = shuffle
        self.callbacks = callbacks
        self.verbose = verbose

    def _train(self, x: np.ndarray, y: np.ndarray, head: dict[str, Any], loss: Any,
               sample_weight: Any) -> None:
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, x)
        hidden = list(_HIDDEN if self.layers is None else self.layers)
        self.model_ = Model([*hidden, head], loss if self.loss is None else self.loss,
                            self.optimizer, seed=self.seed, metrics=list(self.metrics))
        self.history_: History = self.model_.fit(
            x, y, epochs=self.epochs, batch_size=self.batch_size, shuffle=self.shuffle,
            validation_split=self.validation_split, callbacks=list(self.callbacks),
            verbose=self.verbose, sample_weight=sample_weight)

    def _outputs(self, x: Any) -> np.ndarray:
        check_is_fitted(self, "model_")
        x = validate_data(self, x, reset=False, dtype=np.float64)
        return self.model_.predict(x)

    def __getstate__(self) -> dict[str, Any]:
        # a fitted model travels as its config and weights (what its file holds)
        state = dict(self.__dict__)
        model = state.pop("model_", None)
        if model is not None:
            state["model_"] = (model.get_config(), model.get_weights())
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        saved = state.pop("model_", None)
        self.__dict__.update(state)
        if saved is not None:
            config, weights = saved
            model = Model.from_config(config)
            model.set_weights(weights)
            self.model_ = model


class DualgradClassifier(ClassifierMixin, _DualgradEstimator):  # type: ignore[misc]
    """A dualgrad model as a scikit-learn classifier (see the module's docstring).

    Attributes (after fit): ``classes_``, ``n_features_in_``, ``model_`` (the `Model`),
    ``history_`` (its `History`).
    """

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> DualgradClassifier:  # noqa: N803
        """Fit on samples `X` (N, features) with labels `y` (N,)."""
        x, y = validate_data(self, X, y, dtype=np.float64)
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        self.classes_, labels = np.unique(y, return_inverse=True)
        classes = len(self.classes_)
        if classes < 2:
            raise ValueError(f"DualgradClassifier needs samples of at least 2 classes; got 1 "
                             f"class ({self.classes_[0]!r})")
        if classes == 2:
            head = {"type": "dense", "units": 1, "activation": "sigmoid"}
            self._train(x, labels.astype(np.float64), head, "logloss", sample_weight)
        else:
            head = {"type": "dense", "units": classes}
            self._train(x, labels, head, "softmax_cross_entropy", sample_weight)
        return self

    def predict_proba(self, X: Any) -> np.ndarray:  # noqa: N803
        """Each class's probability, columns in the order of ``classes_``."""
        check_is_fitted(self, "model_")
        x = validate_data(self, X, reset=False, dtype=np.float64)
        proba = self.model_.predict_proba(x)
        if proba.shape[1] == 1:
            return np.column_stack([1.0 - proba[:, 0], proba[:, 0]])
        return proba

    def predict(self, X: Any) -> np.ndarray:  # noqa: N803
        """The most probable class of each sample."""
        proba = self.predict_proba(X)
        return np.asarray(self.classes_[np.argmax(proba, axis=1)])


class DualgradRegressor(RegressorMixin, _DualgradEstimator):  # type: ignore[misc]
    """A dualgrad model as a scikit-learn regressor, of one target or several.

    Attributes (after fit): ``n_features_in_``, ``model_``, ``history_``.
    """

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> DualgradRegressor:  # noqa: N803
        """Fit on samples `X` (N, features) with targets `y`, (N,) or (N, targets)."""
        x, y = validate_data(self, X, y, dtype=np.float64, y_numeric=True, multi_output=True)
        self._one_target = y.ndim == 1
        outputs = 1 if y.ndim == 1 else y.shape[1]
        self._train(x, y, {"type": "dense", "units": outputs}, "mse", sample_weight)
        return self

    def predict(self, X: Any) -> np.ndarray:  # noqa: N803
        """The predicted targets: (N,) for one target, (N, targets) for several."""
        out = self._outputs(X)
        return out[:, 0] if self._one_target else out
