"""The Layer, Loss and Optimizer interfaces and the built-ins: dense, mse, logloss, sgd, adam.

Values are checked against NumPy written out by hand, gradients against closed forms, and
optimizer steps against the update formulas applied by hand.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np
import pytest

import dualgrad as dg
from dualgrad.layers import Dense, Layer
from dualgrad.losses import LogLoss, Loss, MeanSquaredError
from dualgrad.optimizers import SGD, Adam, Optimizer


def _sigmoid(z: np.ndarray) -> np.ndarray:
    """A sigmoid that does not overflow: exp(-softplus(-z))."""
    return np.exp(-np.logaddexp(0.0, -z))


# ---- look-up by name --------------------------------------------------------------------------


def test_lookup_builds_configured_objects():
    """dg.layer, dg.loss and dg.optimizer build the registered class with the keyword config."""
    layer = dg.layer("dense", units=2)
    loss = dg.loss("logloss")
    opt = dg.optimizer("sgd", lr=0.1)
    assert isinstance(layer, Dense) and isinstance(layer, Layer)
    assert layer.units == 2 and layer.activation is None and layer.use_bias is True
    assert isinstance(loss, LogLoss) and isinstance(loss, Loss)
    assert loss.from_logits is False
    assert isinstance(opt, SGD) and isinstance(opt, Optimizer)
    assert opt.lr == 0.1 and opt.momentum == 0.0 and opt.nesterov is False
    assert isinstance(dg.loss("mse"), MeanSquaredError)
    assert isinstance(dg.optimizer("adam"), Adam)


@pytest.mark.parametrize(
    ("lookup", "typo", "close", "registered"),
    [
        (dg.layer, "dens", "dense", ["dense"]),
        (dg.loss, "loglos", "logloss", ["mse", "logloss"]),
        (dg.optimizer, "adm", "adam", ["sgd", "adam"]),
    ],
)
def test_unknown_name_lists_registered_names_and_close_matches(lookup, typo, close, registered):
    """An unknown name raises UnknownNameError (a KeyError) naming close matches and every name."""
    with pytest.raises(dg.UnknownNameError) as info:
        lookup(typo)
    assert isinstance(info.value, KeyError)
    message = str(info.value)
    assert repr(typo) in message
    assert f"Did you mean {close!r}" in message
    for name in registered:
        assert name in message.split("Registered")[1]


def test_unknown_name_without_close_match_still_lists_names():
    """A name with no close match gives no suggestion but still lists the registered names."""
    with pytest.raises(dg.UnknownNameError) as info:
        dg.optimizer("zzzzzz")
    assert "Did you mean" not in str(info.value)
    assert "adam" in str(info.value) and "sgd" in str(info.value)


@pytest.mark.parametrize(
    ("lookup", "name", "config", "key"),
    [
        (dg.layer, "dense", {"units": 2, "unitz": 3}, "unitz"),
        (dg.loss, "logloss", {"from_logit": True}, "from_logit"),
        (dg.loss, "mse", {"reduction": "sum"}, "reduction"),
        (dg.optimizer, "sgd", {"learning_rate": 0.1}, "learning_rate"),
        (dg.optimizer, "adam", {"beta_1": 0.9}, "beta_1"),
    ],
)
def test_unknown_config_key_raises_config_error_naming_it(lookup, name, config, key):
    """An option the class does not have raises ConfigError (a ValueError) naming that option."""
    with pytest.raises(dg.ConfigError) as info:
        lookup(name, **config)
    assert isinstance(info.value, ValueError)
    assert repr(key) in str(info.value)


@pytest.mark.parametrize(
    ("lookup", "name", "config", "word"),
    [
        (dg.layer, "dense", {"units": 0}, "units"),
        (dg.layer, "dense", {"units": -3}, "units"),
        (dg.layer, "dense", {"units": 2.5}, "units"),
        (dg.layer, "dense", {"units": True}, "units"),
        (dg.layer, "dense", {"units": 2, "activation": "nope"}, "nope"),
        (dg.layer, "dense", {"units": 2, "activation": 3}, "activation"),
        (dg.layer, "dense", {"units": 2, "initializer": "ones"}, "initializer"),
        (dg.layer, "dense", {"units": 2, "use_bias": "yes"}, "use_bias"),
        (dg.layer, "dense", {}, "units"),
        (dg.loss, "logloss", {"eps": 0.5}, "eps"),
        (dg.loss, "logloss", {"eps": -1e-7}, "eps"),
        (dg.loss, "logloss", {"from_logits": 1}, "from_logits"),
        (dg.optimizer, "sgd", {"lr": -1}, "lr"),
        (dg.optimizer, "sgd", {"lr": 0}, "lr"),
        (dg.optimizer, "sgd", {"lr": "0.1"}, "lr"),
        (dg.optimizer, "sgd", {"momentum": 1.0}, "momentum"),
        (dg.optimizer, "sgd", {"momentum": -0.1}, "momentum"),
        (dg.optimizer, "sgd", {"nesterov": "yes"}, "nesterov"),
        (dg.optimizer, "adam", {"beta1": 1.0}, "beta1"),
        (dg.optimizer, "adam", {"beta2": 1.5}, "beta2"),
        (dg.optimizer, "adam", {"eps": 0.0}, "eps"),
    ],
)
def test_bad_config_value_raises_config_error(lookup, name, config, word):
    """A value out of range or of the wrong type raises ConfigError mentioning the option."""
    with pytest.raises(dg.ConfigError) as info:
        lookup(name, **config)
    assert isinstance(info.value, ValueError)
    assert word in str(info.value)


@pytest.mark.parametrize(
    "obj",
    [
        Dense(units=3, activation="tanh", use_bias=False, initializer="he_normal"),
        LogLoss(from_logits=True, eps=1e-5),
        MeanSquaredError(),
        SGD(lr=0.5, momentum=0.9, nesterov=True),
        Adam(lr=0.01, beta1=0.8, beta2=0.99, eps=1e-6),
    ],
    ids=lambda o: type(o).__name__,
)
def test_get_config_from_config_round_trip(obj):
    """from_config(get_config()) rebuilds an equal object; the config is plain keywords."""
    config = obj.get_config()
    assert all(isinstance(k, str) for k in config)
    assert type(obj).from_config(config) == obj


@pytest.mark.parametrize("interface", [Layer, Loss, Optimizer])
def test_interfaces_are_abstract(interface):
    """Layer, Loss and Optimizer cannot be instantiated without their abstract methods."""
    with pytest.raises(TypeError):
        interface()


def test_parts_are_immutable():
    """Layers, losses and optimizers are frozen attrs classes: configuration cannot change."""
    for obj, field in ((dg.layer("dense", units=2), "units"), (dg.loss("logloss"), "eps"),
                       (dg.optimizer("sgd"), "lr"), (dg.optimizer("adam"), "lr")):
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            setattr(obj, field, 1)


# ---- dense ------------------------------------------------------------------------------------


def test_dense_parameter_and_output_shapes():
    """Dense(units=4) on 3 features has a (3, 4) kernel, a (4,) zero bias, and (N, 4) outputs."""
    layer = dg.layer("dense", units=4)
    kernel, bias = layer.init((3,), np.random.default_rng(0))
    assert kernel.shape == (3, 4) and bias.shape == (4,)
    assert np.all(bias == 0)
    assert layer.output_shape((3,)) == (4,)
    out = layer([kernel, bias], np.ones((5, 3)))
    assert np.shape(out) == (5, 4)


def test_dense_without_bias_has_kernel_only():
    """use_bias=False gives one parameter, the kernel, and the output x @ kernel."""
    layer = dg.layer("dense", units=2, use_bias=False)
    params = layer.init((3,), np.random.default_rng(1))
    assert len(params) == 1 and params[0].shape == (3, 2)
    x = np.random.default_rng(2).normal(size=(6, 3))
    np.testing.assert_allclose(layer(params, x), x @ params[0], rtol=1e-14)


def test_dense_rejects_samples_that_are_not_vectors():
    """Dense on per-sample shape (2, 3) raises ShapeError (a ValueError)."""
    with pytest.raises(dg.ShapeError):
        dg.layer("dense", units=2).init((2, 3), np.random.default_rng(0))


@pytest.mark.parametrize(
    ("activation", "reference"),
    [
        (None, lambda z: z),
        ("sigmoid", lambda z: 1.0 / (1.0 + np.exp(-z))),
        ("tanh", np.tanh),
        ("relu", lambda z: np.maximum(z, 0.0)),
        ("exp", np.exp),
        ("softplus", lambda z: np.log1p(np.exp(z))),
    ],
)
def test_dense_output_matches_numpy(activation, reference):
    """Dense computes activation(x @ kernel + bias), the activation looked up by name."""
    rng = np.random.default_rng(3)
    layer = dg.layer("dense", units=3, activation=activation)
    kernel, bias = rng.normal(size=(4, 3)), rng.normal(size=3)
    x = rng.normal(size=(7, 4))
    expected = reference(x @ kernel + bias)
    np.testing.assert_allclose(np.asarray(layer([kernel, bias], x)), expected, rtol=1e-12)


def test_dense_zeros_and_normal_initializers():
    """'zeros' gives a zero kernel; 'normal' gives the generator's standard normal draws."""
    zeros = dg.layer("dense", units=5, initializer="zeros").init((4,), np.random.default_rng(0))
    assert np.all(zeros[0] == 0) and zeros[0].shape == (4, 5)
    normal = dg.layer("dense", units=5, initializer="normal").init((4,), np.random.default_rng(7))
    np.testing.assert_array_equal(normal[0], np.random.default_rng(7).normal(size=(4, 5)))


@pytest.mark.parametrize(
    ("initializer", "std", "bound"),
    [
        ("glorot_uniform", np.sqrt(6.0 / 500) / np.sqrt(3.0), np.sqrt(6.0 / 500)),
        ("glorot_normal", np.sqrt(2.0 / 500), None),
        ("he_normal", np.sqrt(2.0 / 300), None),
        ("normal", 1.0, None),
    ],
)
def test_dense_random_initializers_have_their_scale(initializer, std, bound):
    """Each random initializer draws a centred kernel with its documented spread (fan 300 x 200)."""
    layer = dg.layer("dense", units=200, initializer=initializer)
    kernel, bias = layer.init((300,), np.random.default_rng(11))
    assert kernel.shape == (300, 200)
    assert np.all(bias == 0)
    assert abs(kernel.mean()) < 0.02 * std
    assert kernel.std() == pytest.approx(std, rel=0.02)
    if bound is not None:
        assert np.all(np.abs(kernel) <= bound)
        assert np.abs(kernel).max() > 0.99 * bound


def test_dense_initial_weights_depend_only_on_the_generator():
    """The same generator state gives the same kernel; another seed gives another."""
    layer = dg.layer("dense", units=3)
    a = layer.init((2,), np.random.default_rng(5))[0]
    b = layer.init((2,), np.random.default_rng(5))[0]
    c = layer.init((2,), np.random.default_rng(6))[0]
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


# ---- losses -----------------------------------------------------------------------------------


def test_mse_value_and_gradient_match_closed_form():
    """mse = mean((p - y)^2) over every entry; d/dp = 2 (p - y) / size."""
    rng = np.random.default_rng(0)
    y, p = rng.normal(size=(6, 2)), rng.normal(size=(6, 2))
    mse = dg.loss("mse")
    assert float(mse(y, p)) == pytest.approx(np.mean((p - y) ** 2), rel=1e-14)
    g = dg.grad(lambda q: mse(y, q))(p)
    np.testing.assert_allclose(g, 2 * (p - y) / p.size, rtol=1e-12)


def test_mse_accepts_any_real_target():
    """mse.check_targets accepts any finite real target, 0.5 included."""
    dg.loss("mse").check_targets(np.array([[0.5], [-3.0], [1e6]]))


def test_logloss_value_and_gradient_match_closed_form():
    """logloss = -mean(y log p + (1-y) log(1-p)); d/dp = (p - y) / (p (1 - p)) / n."""
    rng = np.random.default_rng(1)
    p = rng.uniform(0.05, 0.95, size=(8, 1))
    y = (rng.uniform(size=(8, 1)) > 0.5).astype(float)
    loss = dg.loss("logloss")
    expected = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    assert float(loss(y, p)) == pytest.approx(expected, rel=1e-12)
    g = dg.grad(lambda q: loss(y, q))(p)
    np.testing.assert_allclose(g, (p - y) / (p * (1 - p)) / p.size, rtol=1e-10)


@pytest.mark.parametrize(
    ("target", "prediction", "sign"),
    [(1.0, 0.0, -1), (0.0, 1.0, +1), (1.0, 1.0, -1), (0.0, 0.0, +1)],
)
def test_logloss_keeps_a_gradient_at_exactly_0_and_1(target, prediction, sign):
    """At p exactly 0 or 1 the log-loss stays finite and its slope is finite, non-zero and
    points the way the prediction must move (down when y = 0, up when y = 1)."""
    loss = dg.loss("logloss")
    y, p = np.array([target]), np.array([prediction])
    value = float(loss(y, p))
    g = dg.grad(lambda q: loss(y, q))(p)
    assert np.isfinite(value)
    assert np.all(np.isfinite(g)) and g[0] != 0
    assert np.sign(g[0]) == sign


def test_logloss_clips_the_value_as_the_blog_does():
    """A certain wrong prediction costs -log(eps), the clipped value (eps = 1e-15 as the blog)."""
    loss = dg.loss("logloss", eps=1e-15)
    value = float(loss(np.array([1.0, 0.0]), np.array([0.0, 1.0])))
    # p = 1 is clipped to the float nearest 1 - eps, so its cost is -log(1 - fl(1 - eps))
    expected = -np.mean([np.log(1e-15), np.log(1.0 - (1.0 - 1e-15))])
    assert value == pytest.approx(expected, rel=1e-12)


def test_logloss_from_logits_is_stable_for_large_logits():
    """With from_logits, value and gradient stay finite for |z| = 1e3 and match
    mean(softplus(z) - y z) and (sigmoid(z) - y) / n."""
    z = np.array([-1e3, -1e3, -40.0, -1.5, 0.0, 0.7, 40.0, 1e3, 1e3])
    y = np.array([0.0, 1.0, 1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.0])
    loss = dg.loss("logloss", from_logits=True)
    value = float(loss(y, z))
    g = dg.grad(lambda logits: loss(y, logits))(z)
    expected_value = np.mean(np.logaddexp(0.0, z) - y * z)
    expected_grad = (_sigmoid(z) - y) / z.size
    assert np.isfinite(value) and np.all(np.isfinite(g))
    assert value == pytest.approx(expected_value, rel=1e-12)
    np.testing.assert_allclose(g, expected_grad, rtol=1e-10, atol=1e-300)
    # the extreme wrong logits cost |z| each and have slope of magnitude 1/n
    assert g[1] == pytest.approx(-1 / z.size) and g[8] == pytest.approx(1 / z.size)


def test_logloss_from_logits_equals_logloss_of_sigmoid_in_the_middle():
    """For moderate logits, from_logits on z equals the probability loss on sigmoid(z)."""
    rng = np.random.default_rng(2)
    z = rng.normal(size=(10, 1))
    y = (rng.uniform(size=(10, 1)) > 0.5).astype(float)
    a = float(dg.loss("logloss", from_logits=True)(y, z))
    b = float(dg.loss("logloss")(y, _sigmoid(z)))
    assert a == pytest.approx(b, rel=1e-12)


@pytest.mark.parametrize("bad", [0.5, -1.0, 2.0])
def test_logloss_check_targets_rejects_non_binary(bad):
    """logloss.check_targets raises DataError (a ValueError) naming a target not 0 or 1."""
    with pytest.raises(dg.DataError) as info:
        dg.loss("logloss").check_targets(np.array([[0.0], [bad], [1.0]]))
    assert isinstance(info.value, ValueError)
    assert str(bad) in str(info.value)


def test_logloss_check_targets_accepts_zeros_and_ones():
    """Targets of exactly 0 and 1 pass the log-loss check."""
    dg.loss("logloss").check_targets(np.array([[0.0], [1.0], [1.0]]))


# ---- optimizers -------------------------------------------------------------------------------


def _params() -> list[np.ndarray]:
    return [np.array([[1.0, -2.0], [0.5, 3.0]]), np.array([0.25, -0.75])]


# two steps' gradients, fixed so that the update formulas can be applied by hand
G0 = [np.array([[0.3, -0.1], [2.0, -1.0]]), np.array([0.5, -0.2])]
G1 = [np.array([[-0.4, 0.2], [1.0, 0.6]]), np.array([-0.1, 0.9])]


def _two_steps(opt: Optimizer) -> list[np.ndarray]:
    params = _params()
    state = opt.init(params)
    params, state = opt.update(G0, state, params)
    params, state = opt.update(G1, state, params)
    return [np.asarray(w) for w in params]


def _assert_params_equal(got: list[np.ndarray], expected: list[np.ndarray]) -> None:
    assert len(got) == len(expected)
    for a, b in zip(got, expected, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)


def test_sgd_plain_two_steps():
    """Plain SGD: w <- w - lr g, twice."""
    lr = 0.1
    expected = [w - lr * g0 - lr * g1 for w, g0, g1 in zip(_params(), G0, G1, strict=True)]
    _assert_params_equal(_two_steps(dg.optimizer("sgd", lr=lr)), expected)


def test_sgd_momentum_two_steps():
    """Momentum: v <- mu v - lr g, w <- w + v, from v = 0."""
    lr, mu = 0.1, 0.9
    expected = []
    for w, g0, g1 in zip(_params(), G0, G1, strict=True):
        v1 = -lr * g0
        w1 = w + v1
        v2 = mu * v1 - lr * g1
        expected.append(w1 + v2)
    _assert_params_equal(_two_steps(dg.optimizer("sgd", lr=lr, momentum=mu)), expected)


def test_sgd_nesterov_two_steps():
    """Nesterov: v <- mu v - lr g, w <- w + mu v - lr g, from v = 0."""
    lr, mu = 0.05, 0.8
    expected = []
    for w, g0, g1 in zip(_params(), G0, G1, strict=True):
        v1 = -lr * g0
        w1 = w + mu * v1 - lr * g0
        v2 = mu * v1 - lr * g1
        expected.append(w1 + mu * v2 - lr * g1)
    opt = dg.optimizer("sgd", lr=lr, momentum=mu, nesterov=True)
    _assert_params_equal(_two_steps(opt), expected)


def test_adam_two_steps():
    """Adam with bias correction: m, s moving averages; w <- w - lr m^ / (sqrt(s^) + eps)."""
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-8
    expected = []
    for w, g0, g1 in zip(_params(), G0, G1, strict=True):
        m, s = np.zeros_like(w), np.zeros_like(w)
        for t, g in enumerate((g0, g1), start=1):
            m = b1 * m + (1 - b1) * g
            s = b2 * s + (1 - b2) * g**2
            w = w - lr * (m / (1 - b1**t)) / (np.sqrt(s / (1 - b2**t)) + eps)
        expected.append(w)
    _assert_params_equal(_two_steps(dg.optimizer("adam", lr=lr)), expected)


def test_adam_first_step_moves_each_weight_by_lr():
    """Adam's first step moves every weight by about lr against the sign of its gradient."""
    params = _params()
    opt = dg.optimizer("adam", lr=0.01)
    new, _ = opt.update(G0, opt.init(params), params)
    for w, n, g in zip(params, new, G0, strict=True):
        np.testing.assert_allclose(n - w, -0.01 * np.sign(g), rtol=1e-6)


def _snapshot(obj: Any) -> Any:
    """A deep copy of a state made of attrs classes, tuples, ints and arrays."""
    if attrs.has(type(obj)):
        return {f.name: _snapshot(getattr(obj, f.name)) for f in attrs.fields(type(obj))}
    if isinstance(obj, (tuple, list)):
        return [_snapshot(o) for o in obj]
    if isinstance(obj, np.ndarray):
        return obj.copy()
    return obj


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, np.ndarray):
        return np.array_equal(a, b)
    return bool(a == b)


@pytest.mark.parametrize(
    "config",
    [
        {"type": "sgd", "lr": 0.1},
        {"type": "sgd", "lr": 0.1, "momentum": 0.9},
        {"type": "sgd", "lr": 0.1, "momentum": 0.9, "nesterov": True},
        {"type": "adam", "lr": 0.01},
    ],
    ids=lambda c: "-".join(str(v) for v in c.values()),
)
def test_optimizer_init_and_update_are_pure(config):
    """init and update mutate neither params, grads nor the old state; the state is frozen."""
    kind = config.pop("type")
    opt = dg.optimizer(kind, **config)
    params = _params()
    params_copy = [w.copy() for w in params]
    grads_copy = [g.copy() for g in G0]

    state0 = opt.init(params)
    state0_copy = _snapshot(state0)
    new1, state1 = opt.update(G0, state0, params)
    state1_copy = _snapshot(state1)
    _, state2 = opt.update(G1, state1, new1)

    for w, c in zip(params, params_copy, strict=True):
        np.testing.assert_array_equal(w, c)
    for g, c in zip(G0, grads_copy, strict=True):
        np.testing.assert_array_equal(g, c)
    assert _same(_snapshot(state0), state0_copy)
    assert _same(_snapshot(state1), state1_copy)
    assert not any(a is b for a, b in zip(new1, params, strict=True))
    # the same call twice gives the same answer: no hidden state
    again, _ = opt.update(G0, opt.init(params), params)
    for a, b in zip(again, new1, strict=True):
        np.testing.assert_array_equal(a, b)
    for state in (state0, state1, state2):
        assert attrs.has(type(state))
        field = attrs.fields(type(state))[0].name
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            setattr(state, field, None)
