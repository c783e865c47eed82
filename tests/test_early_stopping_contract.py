"""EarlyStopping's defaults and counting: what is an improvement, and when patience runs out."""

from __future__ import annotations

import numpy as np

import dualgrad as dg
from dualgrad.callbacks import EarlyStopping


def _model() -> dg.Model:
    return dg.Model([{"type": "dense", "units": 1}], "mse", {"type": "sgd", "lr": 0.05}, seed=0,
                    input_shape=[2])


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20, 2))
    return x, x @ np.array([[1.0], [-2.0]])


def _epochs_until_stop(stopper: EarlyStopping, losses: list[float]) -> int | None:
    """Feed `losses` to the stopper's hooks, epoch by epoch; the epoch it stops at, or None."""
    model = _model()
    stopper.on_train_begin(model)
    for epoch, loss in enumerate(losses):
        stopper.on_epoch_end(epoch, {"loss": loss}, model)
        if model.stop_training:
            return epoch
    return None


def test_early_stopping_defaults():
    """EarlyStopping() watches "loss" with patience 0, min_delta 0, and keeps the last weights."""
    stopper = EarlyStopping()
    assert (stopper.monitor, stopper.patience, stopper.min_delta,
            stopper.restore_best_weights) == ("loss", 0, 0.0, False)


def test_by_default_the_first_epoch_without_improvement_stops_training():
    """With the defaults, training stops at the first epoch whose loss is not lower."""
    assert _epochs_until_stop(EarlyStopping(), [3.0, 2.0, 2.5, 1.0]) == 2


def test_an_equal_loss_is_not_an_improvement():
    """A loss equal to the best so far counts as no improvement."""
    assert _epochs_until_stop(EarlyStopping(patience=0), [3.0, 2.0, 2.0, 1.0]) == 2


def test_patience_counts_epochs_without_improvement_from_zero():
    """When no epoch can improve (min_delta infinite), fit runs exactly patience + 1 epochs."""
    x, y = _data()
    for patience in (0, 1, 3):
        stopper = EarlyStopping(patience=patience, min_delta=float("inf"))
        history = _model().fit(x, y, epochs=10, callbacks=[stopper], verbose=False)
        assert len(history.epoch) == patience + 1
        assert stopper.stopped_epoch == patience


def test_default_keeps_the_last_weights_when_stopping():
    """Without restore_best_weights, stopping leaves the weights of the last epoch, not those
    the best epoch started from."""
    x, y = _data()
    model = _model()
    initial = model.get_weights()
    seen: list[list[np.ndarray]] = []
    # the first epoch improves on nothing; none after it can improve by 1e9
    model.fit(x, y, epochs=10, verbose=False,
              callbacks=[lambda epoch, logs: seen.append(model.get_weights()),
                         EarlyStopping(min_delta=1e9)])
    assert len(seen) == 2
    for a, b in zip(model.get_weights(), seen[-1], strict=True):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, b)
               for a, b in zip(model.get_weights(), initial, strict=True))
