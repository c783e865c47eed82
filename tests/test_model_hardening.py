"""Edge cases found in review: each pins a behaviour that used to be wrong."""

from __future__ import annotations

import os
import stat

import attrs
import numpy as np
import pytest

import dualgrad as dg
from dualgrad import primitives as p
from dualgrad.primitives import fused


@attrs.define(frozen=True)
class SharedBias(dg.Layer):
    """x @ W + b with one scalar bias shared by every unit."""

    name = "shared_bias"
    units: int = 3

    def init(self, input_shape, rng):
        return [rng.normal(size=(input_shape[0], self.units)), np.array(0.5)]

    def output_shape(self, input_shape):
        return (self.units,)

    def __call__(self, params, x):
        return p.affine(x, params[0], params[1])


@attrs.define(frozen=True)
class ShiftedSigmoid(dg.Layer):
    """0.25 + 0.5 sigmoid(x @ W): an output in (0.25, 0.75), with activation "sigmoid"."""

    name = "shifted_sigmoid"
    activation: str = "sigmoid"

    def init(self, input_shape, rng):
        return [rng.normal(size=(input_shape[0], 1))]

    def output_shape(self, input_shape):
        return (1,)

    def __call__(self, params, x):
        return 0.25 + 0.5 * dg.sigmoid(x @ params[0])


def _flat(arrays):
    return np.concatenate([np.ravel(a) for a in arrays])


def test_affine_with_a_scalar_bias_gets_the_right_model_gradient():
    """A layer passing affine a scalar bias (not one per unit) gets the gradient that
    differentiating the same loss written out gives: unit seeds are scattered only for the
    dense layer's own shapes."""
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(9, 2)), rng.normal(size=(9, 3))
    model = dg.Model([SharedBias(), {"type": "dense", "units": 3}], "mse", "sgd", seed=0,
                     input_shape=[2])
    w0, b0, w1, b1 = model.get_weights()

    def loss(w0, b0, w1, b1):
        h = x @ w0 + b0
        return dg.mean(dg.square(h @ w1 + b1 - y))

    expected = dg.grad(loss, argnums=(0, 1, 2, 3))(w0, b0, w1, b1)
    np.testing.assert_allclose(_flat(model.gradient(x, y)), _flat(expected), rtol=1e-12)


def test_logits_shortcut_only_for_the_dense_layer():
    """A custom layer named with a sigmoid activation but computing something else is trained
    and evaluated on its own output: evaluate equals the log-loss of predict."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(30, 2))
    y = (x[:, :1] > 0).astype(float)
    model = dg.Model([ShiftedSigmoid()], "logloss", "sgd", seed=0, input_shape=[2])
    prob = model.predict(x)
    by_hand = -np.mean(y * np.log(prob) + (1 - y) * np.log(1 - prob))
    assert model.evaluate(x, y) == pytest.approx(by_hand, rel=1e-12)


def test_logits_shortcut_respects_a_custom_clip():
    """With a non-default eps, the clipped probabilities decide the loss, as documented."""
    x = np.array([[5.0], [-5.0]])
    y = np.array([[0.0], [1.0]])
    model = dg.Model([{"type": "dense", "units": 1, "activation": "sigmoid"}],
                     {"type": "logloss", "eps": 0.2}, "sgd", seed=0, input_shape=[1])
    model.set_weights([np.array([[10.0]]), np.array([0.0])])
    assert model.evaluate(x, y) == pytest.approx(-np.log(0.2), rel=1e-12)


def test_dense_refuses_activations_that_are_not_elementwise():
    """A reduction or a multi-argument primitive is no activation: ConfigError, not a model
    that trains on nonsense."""
    for name in ("sum", "max", "transpose", "affine"):
        with pytest.raises(dg.ConfigError, match="elementwise"):
            dg.layer("dense", units=2, activation=name)
    assert dg.layer("dense", units=2, activation="softmax").activation == "softmax"


def test_log_loss_of_confident_logits_is_never_negative():
    """Large, right logits give a tiny non-negative loss, not a cancelled negative one."""
    for seed in range(50):
        rng = np.random.default_rng(seed)
        z = rng.uniform(50, 1000, size=(1000, 1)) * rng.choice([-1, 1], size=(1000, 1))
        y = (z > 0).astype(float)
        assert 0 <= fused._sce(z, y) < 1e-20


def test_complex_data_is_refused():
    """Complex x is a DataError, not silently cast to its real part."""
    model = dg.Model([{"type": "dense", "units": 1}], "mse", "sgd", seed=0)
    with pytest.raises(dg.DataError, match="complex"):
        model.fit(np.array([1 + 1j, 2.0]), np.array([1.0, 2.0]), verbose=False)
    assert not model.built


@pytest.mark.parametrize("shape", [(-1,), (0,), (2.7,), (True,)])
def test_bad_input_shape_is_a_config_error(shape):
    """input_shape must be positive ints."""
    with pytest.raises(dg.ConfigError, match="input_shape"):
        dg.Model([{"type": "dense", "units": 1}], "mse", "sgd", seed=0, input_shape=shape)


def test_saved_file_gets_the_usual_permissions(tmp_path):
    """save() leaves a file readable as a plain open() would, not private to its owner."""
    model = dg.Model([{"type": "dense", "units": 1}], "mse", "sgd", seed=0, input_shape=[1])
    path = tmp_path / "m.npz"
    model.save(path)
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask


def test_optimizer_init_does_not_alias_the_live_weights():
    """The weights handed to init are a copy: state built from them stays put as training
    writes new weights."""
    @attrs.define(frozen=True)
    class Anchored(dg.SGD):
        name = "anchored"

        def init(self, params):
            return params

        def update(self, grads, state, params):
            new, _ = super().update(grads, dg.optimizers.SGDState(()), params)
            return new, state

    x = np.linspace(-1, 1, 10)
    model = dg.Model([{"type": "dense", "units": 1}], "mse", Anchored(lr=0.1), seed=0,
                     input_shape=[1])
    start = _flat(model.get_weights())
    model.fit(x, 3 * x, epochs=5, verbose=False)
    np.testing.assert_array_equal(model.optimizer_state[0], start)
    assert not np.allclose(_flat(model.get_weights()), start)


def test_assigning_a_new_loss_takes_effect():
    """model.loss = "mse" on a sigmoid/log-loss model evaluates mean squared error."""
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(20, 1)), (rng.random(size=(20, 1)) > 0.5).astype(float)
    model = dg.Model([{"type": "dense", "units": 1, "activation": "sigmoid"}], "logloss",
                     "sgd", seed=0, input_shape=[1])
    model.loss = "mse"
    assert model.evaluate(x, y) == pytest.approx(np.mean((model.predict(x) - y) ** 2))


def test_assigning_a_new_optimizer_starts_from_a_fresh_state():
    """A new optimizer gets its own init, not the old optimizer's state."""
    x = np.linspace(-1, 1, 10)
    model = dg.Model([{"type": "dense", "units": 1}], "mse", "adam", seed=0)
    model.fit(x, x, epochs=2, verbose=False)
    model.optimizer = {"type": "sgd", "lr": 0.1, "momentum": 0.5}
    assert model.optimizer_state is None
    model.fit(x, x, epochs=2, verbose=False)
    assert isinstance(model.optimizer_state, dg.optimizers.SGDState)


def test_shuffle_must_be_a_bool():
    """shuffle="no" is refused rather than read as true."""
    model = dg.Model([{"type": "dense", "units": 1}], "mse", "sgd", seed=0)
    with pytest.raises(dg.ConfigError, match="shuffle"):
        model.fit([1.0, 2.0], [1.0, 2.0], shuffle="no", verbose=False)


def test_custom_rule_returning_one_value_is_a_type_error():
    """A rule that forgets the (out, tangent) pair is told so, not silently misread."""
    @dg.custom_jvp
    def f(x):
        return x * x

    f.defjvp(lambda primals, tangents: primals[0])
    with pytest.raises(dg.DualgradTypeError, match="pair"):
        dg.grad(lambda v: dg.sum(f(v)))(np.linspace(0, 1, 5))


def test_numpy_int_units_keep_the_config_json():
    """units given as a NumPy int is stored as an int, so the model saves."""
    layer = dg.layer("dense", units=np.int64(2))
    assert type(layer.units) is int
