"""The installed package is found through its entry point: the user imports nothing."""

from __future__ import annotations

import math
from collections.abc import Iterator
from importlib import metadata

import numpy as np
import pytest

from plugin_under_test import require_plugin

dualgrad_scipy = require_plugin()

import dualgrad as dg  # noqa: E402
from dualgrad import _registry  # noqa: E402

PRIMITIVES = ("erf", "erfc", "gammaln", "digamma", "polygamma", "expit", "log_expit", "gamma",
              "beta", "betaln", "xlogy", "xlog1py", "entr", "i0", "i1", "i0e", "i1e", "ndtr",
              "log_ndtr")


@pytest.fixture
def registry() -> Iterator[_registry.Registry]:
    """The registry loaded afresh from the installed entry points, and again afterwards."""
    try:
        yield _registry.reload()
    finally:
        _registry.reload()


def test_entry_point_names_the_hooks_module() -> None:
    """The distribution announces dualgrad_scipy.hooks as the dualgrad entry point 'scipy'."""
    dist = metadata.distribution("dualgrad-scipy")
    eps = [ep for ep in dist.entry_points if ep.group == "dualgrad"]
    assert [(ep.name, ep.value) for ep in eps] == [("scipy", "dualgrad_scipy.hooks")]


def test_plugin_is_listed_as_active(registry: _registry.Registry) -> None:
    """dualgrad.plugins() lists 'scipy' from dualgrad-scipy 0.1.0, active, with what it gave."""
    info = next(p for p in dg.plugins() if p.name == "scipy")
    assert info.distribution == "dualgrad-scipy"
    assert info.version == "0.1.0"
    assert info.status == "active"
    assert info.error is None
    assert info.registered == {"primitive": PRIMITIVES, "optimizer": ("lbfgs",)}


@pytest.mark.parametrize("name", PRIMITIVES)
def test_primitives_are_found_by_plain_and_qualified_name(registry: _registry.Registry,
                                                          name: str) -> None:
    """dualgrad.primitive(name) and ("scipy/" + name) give the very object the plugin made."""
    prim = getattr(dualgrad_scipy, name)
    assert dg.primitive(name) is prim
    assert dg.primitive(f"scipy/{name}") is prim


def test_looked_up_erf_differentiates(registry: _registry.Registry) -> None:
    """grad of the looked-up erf at 0 is 2/sqrt(pi)."""
    assert float(dg.grad(dg.primitive("erf"))(0.0)) == pytest.approx(2 / math.sqrt(math.pi),
                                                                     rel=1e-15)


def test_optimizer_is_found_by_name(registry: _registry.Registry) -> None:
    """dualgrad.optimizer('lbfgs', ...) builds the plugin's LBFGS from keyword configuration."""
    opt = dg.optimizer("lbfgs", maxiter=7)
    assert isinstance(opt, dualgrad_scipy.LBFGS)
    assert opt.maxiter == 7


def test_plugin_primitive_is_a_dense_activation(registry: _registry.Registry) -> None:
    """A dense layer takes a plugin primitive's name as its activation."""
    layer = dg.layer("dense", units=2, activation="erf")
    params = [np.array([[1.0, -2.0]]), np.array([0.5, 0.0])]
    np.testing.assert_allclose(layer(params, np.array([[0.25]])),
                               dualgrad_scipy.erf(np.array([[0.75, -0.5]])), rtol=1e-15)


def test_disabling_the_plugin_hides_its_names(registry: _registry.Registry,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """DUALGRAD_DISABLE_PLUGINS=scipy leaves the built-ins and drops erf and lbfgs."""
    monkeypatch.setenv("DUALGRAD_DISABLE_PLUGINS", "scipy")
    _registry.reload()
    info = next(p for p in dg.plugins() if p.name == "scipy")
    assert info.status == "disabled"
    with pytest.raises(dg.UnknownNameError):
        dg.primitive("erf")
    with pytest.raises(dg.UnknownNameError):
        dg.optimizer("lbfgs")
    assert dg.primitive("sigmoid") is dg.sigmoid

