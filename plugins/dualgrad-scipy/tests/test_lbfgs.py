"""The L-BFGS-B optimizer: its configuration, its contract, and the blog's 2-2-1 network."""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np
import pytest

from plugin_under_test import require_plugin

dualgrad_scipy = require_plugin()

import dualgrad as dg  # noqa: E402
import scipy.optimize  # noqa: E402
import scipy.special as sc  # noqa: E402

from dualgrad_scipy import LBFGS, LBFGSState  # noqa: E402

NETWORK = {
    "layers": [{"type": "dense", "units": 2},
               {"type": "dense", "units": 1, "activation": "sigmoid"}],
    "loss": "logloss",
}


def blog_data(seed: int = 0, n: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """The blog's classes: x ~ N(0, 1), and 1 where 3x - 2 plus unit noise is positive."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    return x, (3 * x - 2 + rng.normal(size=n) > 0).astype(float)


def network_loss(w: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """The 2-2-1 network's log-loss and its gradient by hand, in NumPy alone.

    Weights in get_weights order, flattened: W1 (1, 2), b1 (2,), W2 (2, 1), b2 (1,).
    h = x W1 + b1, z = h W2 + b2, loss = mean(log(1 + e^z) - y z).
    """
    w1, b1, w2, b2 = w[0:2].reshape(1, 2), w[2:4], w[4:6].reshape(2, 1), w[6:7]
    x, y = x.reshape(-1, 1), y.reshape(-1, 1)
    h = x @ w1 + b1
    z = h @ w2 + b2
    loss = float(np.mean(np.logaddexp(0.0, z) - y * z))
    dz = (sc.expit(z) - y) / len(y)
    dh = dz @ w2.T
    grad = np.concatenate([(x.T @ dh).ravel(), dh.sum(0), (h.T @ dz).ravel(), dz.sum(0)])
    return loss, grad


def flat_gradient(model: dg.Model, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.concatenate([np.ravel(g) for g in model.gradient(x, y)])


# ---- configuration -------------------------------------------------------------------------------


def test_defaults_and_config_round_trip() -> None:
    """LBFGS() has documented defaults, and get_config rebuilds an equal optimizer."""
    opt = LBFGS()
    assert (opt.maxiter, opt.tol, opt.maxcor) == (100, 1e-10, 10)
    assert (LBFGS.name, LBFGS.flat_weights, LBFGS.needs_loss) == ("lbfgs", True, True)
    other = LBFGS(maxiter=30, tol=1e-6, maxcor=5)
    assert LBFGS.from_config(other.get_config()) == other


@pytest.mark.parametrize(("option", "value"), [
    ("maxiter", 0), ("maxiter", -3), ("maxiter", 2.5), ("maxiter", True), ("maxiter", "50"),
    ("tol", 0.0), ("tol", -1e-8), ("tol", float("nan")), ("tol", float("inf")), ("tol", None),
    ("maxcor", 0), ("maxcor", False),
])
def test_bad_options_are_config_errors(option: str, value: Any) -> None:
    """A bad maxiter, tol or maxcor is a ConfigError (a ValueError) naming option and value."""
    with pytest.raises(dg.ConfigError, match=option) as info:
        LBFGS.from_config({option: value})
    assert repr(value) in str(info.value)
    assert isinstance(info.value, ValueError)


def test_unknown_option_is_a_config_error() -> None:
    """An option LBFGS does not have is refused, listing the ones it has."""
    with pytest.raises(dg.ConfigError, match="maxiter, tol, maxcor"):
        LBFGS.from_config({"lr": 0.1})


def test_state_is_immutable() -> None:
    """init gives a frozen LBFGSState with nothing done yet."""
    state = LBFGS().init([np.zeros(3)])
    assert isinstance(state, LBFGSState)
    assert (state.nit, state.nfev, state.success, state.message) == (0, 0, False, "")
    assert np.isnan(state.loss)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        state.nit = 1  # type: ignore[misc]


# ---- the update contract -------------------------------------------------------------------------


def test_update_without_loss_and_grad_says_what_to_pass() -> None:
    """Called without loss_and_grad, update raises a TypeError saying Model.fit passes it."""
    opt = LBFGS()
    with pytest.raises(dg.DualgradTypeError, match=r"loss_and_grad.*Model\.fit") as info:
        opt.update([np.ones(2)], opt.init([np.zeros(2)]), [np.zeros(2)])
    assert isinstance(info.value, TypeError)


def test_update_minimises_in_the_form_it_is_given() -> None:
    """On several arrays, update returns arrays of the same shapes at the minimum."""
    target = [np.array([[1.0, -2.0], [0.5, 3.0]]), np.array([4.0])]
    calls = []

    def loss_and_grad(params: list[np.ndarray]) -> tuple[float, list[np.ndarray]]:
        calls.append([p.shape for p in params])
        diffs = [p - t for p, t in zip(params, target, strict=True)]
        return sum(float(np.sum(d**2)) for d in diffs), [2 * d for d in diffs]

    opt = LBFGS()
    params = [np.zeros((2, 2)), np.zeros(1)]
    new, state = opt.update([np.zeros((2, 2)), np.zeros(1)], opt.init(params), params,
                            loss_and_grad=loss_and_grad)
    assert [w.shape for w in new] == [(2, 2), (1,)]
    for w, t in zip(new, target, strict=True):
        np.testing.assert_allclose(w, t, atol=1e-8)
    assert all(shapes == [(2, 2), (1,)] for shapes in calls)
    assert state.success and state.nfev == len(calls) and state.loss < 1e-16
    assert [p.tolist() for p in params] == [[[0.0, 0.0], [0.0, 0.0]], [0.0]]  # not mutated


def test_maxiter_bounds_the_iterations() -> None:
    """With maxiter=2 a run stops after two iterations and says it did not converge."""
    def rosenbrock(params: list[np.ndarray]) -> tuple[float, list[np.ndarray]]:
        return float(scipy.optimize.rosen(params[0])), [scipy.optimize.rosen_der(params[0])]

    opt = LBFGS(maxiter=2)
    params = [np.array([-1.2, 1.0])]
    _, state = opt.update(params, opt.init(params), params, loss_and_grad=rosenbrock)
    assert state.nit == 2
    assert not state.success


# ---- the blog's 2-2-1 network --------------------------------------------------------------------


@pytest.fixture(scope="module")
def trained() -> dict[str, Any]:
    """The blog's 2-2-1 network trained by one full-batch L-BFGS epoch, and what it started at."""
    x, y = blog_data()
    model = dg.Model.from_config({**NETWORK, "optimizer": {"type": "lbfgs", "maxiter": 60},
                                  "seed": 0, "input_shape": [1]})
    start = np.concatenate([np.ravel(w) for w in model.get_weights()])
    history = model.fit(x, y, epochs=1, verbose=False)
    return {"model": model, "x": x, "y": y, "start": start, "history": history,
            "state": model.optimizer_state}


def test_network_converges_in_a_few_dozen_iterations(trained: dict[str, Any]) -> None:
    """L-BFGS reports convergence well inside 60 iterations."""
    state = trained["state"]
    assert isinstance(state, LBFGSState)
    assert state.success, state.message
    assert 0 < state.nit < 60


def test_network_gradient_vanishes_at_the_end(trained: dict[str, Any]) -> None:
    """The forward-mode gradient at the trained weights has norm below 1e-4."""
    model, x, y = trained["model"], trained["x"], trained["y"]
    assert np.linalg.norm(flat_gradient(model, x, y)) < 1e-4


def test_network_loss_matches_scipy_on_a_numpy_loss(trained: dict[str, Any]) -> None:
    """The final loss equals scipy's BFGS minimum of the hand-written NumPy loss, from the same
    start, and the minimum of the two-parameter logistic regression the network reduces to."""
    model, x, y = trained["model"], trained["x"], trained["y"]
    final = model.evaluate(x, y)
    assert final == pytest.approx(trained["state"].loss, abs=1e-12)
    assert final < trained["history"].history["loss"][0]

    ref = scipy.optimize.minimize(network_loss, trained["start"], args=(x, y), jac=True,
                                  method="BFGS", options={"gtol": 1e-10})
    assert final == pytest.approx(ref.fun, abs=1e-4)

    # h W2 + b2 is affine in x: the network is logistic regression on (a, c) = (W1 W2, b1 W2 + b2)
    lr = scipy.optimize.minimize(
        lambda ac: network_loss(np.array([ac[0], 0.0, ac[1], 0.0, 1.0, 0.0, 0.0]), x, y)[0],
        np.zeros(2), method="Nelder-Mead", options={"xatol": 1e-10, "fatol": 1e-14})
    assert final == pytest.approx(lr.fun, abs=1e-4)


def test_network_loss_matches_a_long_adam_run(trained: dict[str, Any]) -> None:
    """Two thousand full-batch Adam steps reach the loss L-BFGS reached in one epoch."""
    x, y = trained["x"], trained["y"]
    adam = dg.Model.from_config({**NETWORK, "optimizer": {"type": "adam", "lr": 0.05},
                                 "seed": 0})
    adam.fit(x, y, epochs=2000, verbose=False)
    assert trained["model"].evaluate(x, y) == pytest.approx(adam.evaluate(x, y), abs=1e-4)


def test_network_trains_from_every_seed() -> None:
    """From several initial weights, one epoch converges to the same minimum."""
    x, y = blog_data()
    losses = []
    for seed in range(1, 5):
        model = dg.Model.from_config({**NETWORK, "optimizer": "lbfgs", "seed": seed})
        model.fit(x, y, epochs=1, verbose=False)
        assert model.optimizer_state.nit < 60
        losses.append(model.evaluate(x, y))
    np.testing.assert_allclose(losses, losses[0], atol=1e-8)


def test_another_epoch_starts_from_the_minimum(trained: dict[str, Any]) -> None:
    """A second epoch keeps the loss where the first left it."""
    x, y = trained["x"], trained["y"]
    model = dg.Model.from_config(trained["model"].get_config())
    model.set_weights(trained["model"].get_weights())
    history = model.fit(x, y, epochs=1, verbose=False)
    assert history.history["loss"][0] == pytest.approx(trained["state"].loss, abs=1e-12)
    assert model.evaluate(x, y) <= trained["state"].loss + 1e-12


def test_lbfgs_model_saves_and_loads(trained: dict[str, Any], tmp_path: Any) -> None:
    """A model trained by L-BFGS saves with its optimizer config and loads with it."""
    path = tmp_path / "model.npz"
    trained["model"].save(path)
    loaded = dg.Model.load(path)
    assert loaded.get_config()["optimizer"] == {"type": "lbfgs", "maxiter": 60, "tol": 1e-10,
                                                "maxcor": 10}
    x, y = trained["x"], trained["y"]
    assert loaded.evaluate(x, y) == trained["model"].evaluate(x, y)
