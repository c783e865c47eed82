"""The stable activations keep full relative precision on both tails, in every form they take."""

from __future__ import annotations

import numpy as np
import pytest

import dualgrad as dg

# references in extended precision (long double: 64-bit mantissa on x86)
REFERENCE = {
    "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
    "softplus": lambda x: np.log1p(np.exp(x)),
    "log_sigmoid": lambda x: -np.log1p(np.exp(-x)),
}


def _points(n: int) -> np.ndarray:
    rng = np.random.default_rng(n)
    tails = np.array([-1000.0, -746.0, -745.0, -709.5, -700.0, -40.0, -1e-20, 0.0, 1e-20,
                      40.0, 700.0, 709.5, 1000.0])
    return np.concatenate([tails, rng.normal(scale=30.0, size=n - tails.size)])


@pytest.mark.skipif(np.finfo(np.longdouble).nmant < 60, reason="needs an extended long double")
@pytest.mark.parametrize("n", [20, 5000], ids=["few numbers", "many numbers"])
@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_activation_is_exact_to_rounding_on_both_tails(name: str, n: int) -> None:
    """sigmoid, softplus and log_sigmoid agree with extended precision to 1e-15, relatively."""
    x = _points(n)
    with np.errstate(over="ignore"):
        ref = REFERENCE[name](x.astype(np.longdouble))
    got = getattr(dg, name)(x)
    normal = np.abs(ref) > np.finfo(np.float64).tiny
    rel = np.abs(got[normal] - ref[normal]) / np.abs(ref[normal])
    assert float(rel.max()) < 1e-15
    # subnormal results are the nearest double, or within one subnormal step of it
    assert np.all(np.abs(got[~normal] - ref[~normal]) <= 2 * 5e-324)


@pytest.mark.parametrize("n", [20, 5000], ids=["few numbers", "many numbers"])
@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_activation_of_special_values(name: str, n: int) -> None:
    """inf, -inf and NaN give the limits and NaN, without a warning, in every form."""
    x = np.zeros(n)
    x[:3] = [np.inf, -np.inf, np.nan]
    got = getattr(dg, name)(x)
    expected = {"sigmoid": [1.0, 0.0], "softplus": [np.inf, 0.0],
                "log_sigmoid": [0.0, -np.inf]}[name]
    assert got[0] == expected[0] and got[1] == expected[1] and np.isnan(got[2])


@pytest.mark.parametrize("n", [20, 5000], ids=["few numbers", "many numbers"])
def test_float32_sigmoid_stays_float32_and_exact(n: int) -> None:
    """A float32 sigmoid is float32, with float32's precision on both tails."""
    x = _points(n).astype(np.float32)
    got = dg.sigmoid(x)
    assert got.dtype == np.float32
    with np.errstate(over="ignore"):
        ref = (1 / (1 + np.exp(-x.astype(np.float64))))
    normal = ref > np.finfo(np.float32).tiny
    rel = np.abs(got[normal] - ref[normal]) / ref[normal]
    assert float(rel.max()) < 2e-7
