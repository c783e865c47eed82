"""Review findings in the core, the transformations, the NumPy API and the registry, each pinned.

Every number is checked against finite differences or a closed form.
"""

from __future__ import annotations

import doctest
import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import dualgrad as dg
import finite_differences as fd
from dualgrad import Variable, _registry
from test_registry import FakePlugins, cube_primitive, plugin_module, plugins  # noqa: F401

RNG = np.random.default_rng(11)




# ---- 1. advanced indices apart from each other ---------------------------------------------------


@pytest.mark.parametrize("index", [
    ([0, 1], slice(None), [0, 1]), (0, slice(None), [1, 2]), (slice(None), [2, 0], None, [1, 3]),
])
def test_getitem_with_separated_advanced_indices_matches_finite_differences(index: Any) -> None:
    """x[[0, 1], :, [0, 1]] and kin: the Jacobian is the finite-difference one, not transposed."""
    x = RNG.normal(size=(2, 3, 4))
    f = lambda v: v[index]  # noqa: E731
    np.testing.assert_allclose(dg.jacobian(f)(x), fd.jacobian(f, (x,), 0), atol=1e-9)


def test_getitem_with_separated_advanced_indices_second_order() -> None:
    """The Hessian of sum(x[0, :, [1, 2]]^3) is 6 x on the picked entries' diagonal."""
    x = RNG.normal(size=(2, 3, 4))
    picked = np.zeros(x.shape, dtype=bool)
    picked[0, :, [1, 2]] = True
    expected = np.diag(np.where(picked, 6 * x, 0.0).ravel()).reshape(x.shape * 2)
    hessian = dg.hessian(lambda v: dg.sum(v[0, :, [1, 2]] ** 3))(x)
    np.testing.assert_allclose(hessian, expected, rtol=1e-12)


# ---- 2. float() of a Variable with a tangent -----------------------------------------------------


def test_math_function_on_a_variable_refuses_instead_of_dropping_the_tangent() -> None:
    """dg.grad(lambda x: math.sin(x)) raises DualgradTypeError, not a silent derivative of 0."""
    with pytest.raises(dg.DualgradTypeError, match=r"float\(\).*tangent.*\.value"):
        dg.grad(lambda x: math.sin(x))(1.0)


@pytest.mark.parametrize("convert", [float, np.float64, complex, math.floor])
def test_float_conversions_of_a_variable_with_a_tangent_raise(convert: Any) -> None:
    """float, np.float64, complex and math.floor of a Variable carrying a tangent raise."""
    with pytest.raises(dg.DualgradTypeError):
        convert(Variable(2.5, 1.0))


def test_float_refuses_a_tangent_on_any_level_and_converts_constants() -> None:
    """float() refuses a tangent carried on an inner level; constants, nested too, convert."""
    inner = Variable._make(np.array(2.5), np.ones((1,)), 3)
    with pytest.raises(dg.DualgradTypeError):
        float(Variable._make(inner, None, 4))
    assert float(Variable(2.5)) == 2.5
    assert float(Variable._make(Variable(1.5), None, 4)) == 1.5


# ---- 3. ndarray subclasses -----------------------------------------------------------------------


def test_memmap_input_is_read_as_an_array(tmp_path: Path) -> None:
    """dg.exp of a memory-mapped .npy file gives exp of its values, and grad works through it."""
    path = tmp_path / "x.npy"
    values = np.array([0.5, -1.0, 2.0])
    np.save(path, values)
    mapped = np.load(path, mmap_mode="r")
    out = dg.exp(mapped)
    assert type(out) is np.ndarray
    np.testing.assert_array_equal(out, np.exp(values))
    np.testing.assert_allclose(dg.grad(lambda v: dg.sum(dg.exp(v)))(mapped), np.exp(values),
                               rtol=1e-15)


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")  # np.matrix's own
def test_matrix_input_becomes_a_plain_array() -> None:
    """np.matrix arguments become plain 2-D arrays: dg.exp gives an ndarray of exp."""
    out = dg.exp(np.matrix([[0.0, 1.0]]))
    assert type(out) is np.ndarray
    np.testing.assert_array_equal(out, np.exp([[0.0, 1.0]]))


def test_masked_array_is_refused() -> None:
    """A masked array raises DualgradTypeError saying its mask would be lost."""
    with pytest.raises(dg.DualgradTypeError, match="mask"):
        dg.exp(np.ma.array([1.0, 2.0], mask=[False, True]))
    with pytest.raises(dg.DualgradTypeError, match="mask"):
        Variable(np.ma.array([1.0, 2.0], mask=[False, True]))


# ---- 4. booleans and small integers --------------------------------------------------------------


@pytest.mark.parametrize("x", [np.array([1, 2], dtype=np.int8), np.array([1, 2], dtype=np.uint8),
                               np.array([True, False]), True, np.True_])
def test_integers_and_booleans_are_computed_in_float64(x: Any) -> None:
    """dg.exp of int8, uint8, bool arrays and small integer scalars is float64, not float16."""
    out = dg.exp(x)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, np.exp(np.asarray(x, dtype=np.float64)), rtol=1e-15)


def test_boolean_arrays_become_the_float_type_of_the_other_arguments() -> None:
    """A bool mask alone is float64; beside float32 it is float32; where's condition works."""
    assert dg.sin(np.array([True, False])).dtype == np.float64
    v = Variable(np.ones(2, dtype=np.float32), np.ones(2, dtype=np.float32))
    out = v * np.array([True, False])
    assert out.value.dtype == np.float32 and out.tangent.dtype == np.float32
    np.testing.assert_array_equal(out.grad, [1.0, 0.0])
    condition = np.array([True, False, True])
    x, y = RNG.normal(size=3), RNG.normal(size=3)
    picked = dg.where(condition, Variable(x, np.ones(3)), y)
    np.testing.assert_array_equal(picked.value, np.where(condition, x, y))
    np.testing.assert_array_equal(picked.grad, [1.0, 0.0, 1.0])


# ---- 5. var and std with ddof >= n ---------------------------------------------------------------


@pytest.mark.parametrize("name", ["var", "std"])
def test_spread_with_too_few_degrees_of_freedom_is_nan(name: str) -> None:
    """var and std with ddof >= n (2 and 3 of 2): NumPy's value, a NaN tangent, no raise."""
    x = np.array([1.0, 2.0])
    for ddof in (2, 3):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # NumPy's, about its own value
            out = getattr(dg.primitives, name)(Variable(x, np.ones(2)), ddof=ddof)
            expected = getattr(np, name)(x, ddof=ddof)
        np.testing.assert_array_equal(out.value, expected)
        assert np.isnan(out.grad), f"ddof={ddof}"


# ---- 6. tuple outputs and tuple argnums ----------------------------------------------------------


def test_hessian_with_tuple_argnums_is_a_tuple_of_tuples() -> None:
    """hessian(f, argnums=(0, 1)) of sum(x_i^2 y_j): blocks [[diag 2 sum y, 2x], [2x^T, 0]]."""
    x, y = RNG.normal(size=2), RNG.normal(size=3)
    h = dg.hessian(lambda a, b: dg.sum(a[:, None] ** 2 * b[None, :]), argnums=(0, 1))(x, y)
    assert isinstance(h, tuple) and all(isinstance(row, tuple) and len(row) == 2 for row in h)
    np.testing.assert_allclose(h[0][0], np.diag(np.full(2, 2 * y.sum())), rtol=1e-14)
    np.testing.assert_allclose(h[0][1], np.repeat(2 * x[:, None], 3, axis=1), rtol=1e-14)
    np.testing.assert_allclose(h[1][0], np.repeat(2 * x[None, :], 3, axis=0), rtol=1e-14)
    np.testing.assert_array_equal(h[1][1], np.zeros((3, 3)))


@pytest.mark.parametrize("chunk_size", [None, 1, 2])
def test_jacobian_of_a_tuple_valued_function(chunk_size: int | None) -> None:
    """jacobian of (x*x, [sum(x), sin(x)]) is (diag 2x, [ones, diag cos x]), containers kept."""
    x = RNG.normal(size=3)
    jac = dg.jacobian(lambda v: (v * v, [dg.sum(v), dg.sin(v)]), chunk_size=chunk_size)(x)
    assert isinstance(jac, tuple) and isinstance(jac[1], list)
    np.testing.assert_allclose(jac[0], np.diag(2 * x), rtol=1e-15)
    np.testing.assert_allclose(jac[1][0], np.ones(3), rtol=1e-15)
    np.testing.assert_allclose(jac[1][1], np.diag(np.cos(x)), rtol=1e-15)


def test_jacobian_of_a_tuple_valued_function_with_tuple_argnums() -> None:
    """A tuple output and tuple argnums: one tuple of per-argument blocks per output."""
    x, y = RNG.normal(size=2), RNG.normal(size=(2, 3))

    def f(a: Any, b: Any) -> Any:
        return a * dg.sum(b, axis=1), dg.sum(b * b)

    jac = dg.jacobian(f, argnums=(0, 1))(x, y)
    for k in range(2):
        for i in range(2):
            np.testing.assert_allclose(
                jac[k][i], fd.jacobian(lambda a, b, k=k: f(a, b)[k], (x, y), i), rtol=1e-6,
                atol=1e-8, err_msg=f"output {k}, argument {i}")


def test_grad_of_a_tuple_valued_function_says_to_use_jacobian() -> None:
    """grad of a tuple-valued f raises ShapeError naming the tuple and jacobian."""
    with pytest.raises(dg.ShapeError, match=r"tuple.*jacobian"):
        dg.grad(lambda v: (v, v))(1.0)


# ---- 7. fresh, writable results ------------------------------------------------------------------


def test_jacobian_of_a_broadcast_is_writable() -> None:
    """The Jacobian of broadcast_to can be scaled in place: it is a fresh array of ones."""
    jac = dg.jacobian(lambda v: np.broadcast_to(v, (3,)))(np.array(1.0))
    jac *= 2
    np.testing.assert_array_equal(jac, [2.0, 2.0, 2.0])


def test_jvp_tangent_of_a_broadcast_is_writable() -> None:
    """jvp's tangent of x + ones(3) at a scalar can be written to; it is 1 everywhere."""
    _, tangent = dg.jvp(lambda v: v + np.ones(3), (1.0,), (1.0,))
    tangent *= 2
    np.testing.assert_array_equal(tangent, [2.0, 2.0, 2.0])


def test_jvp_of_identity_does_not_share_the_callers_tangent() -> None:
    """jvp(lambda x: x) returns a copy of the tangent: writing to it leaves the caller's alone."""
    t = np.array([1.0, 2.0])
    _, tangent = dg.jvp(lambda v: v, (np.zeros(2),), (t,))
    assert not np.shares_memory(tangent, t)
    tangent[0] = 7.0
    np.testing.assert_array_equal(t, [1.0, 2.0])


def test_jvp_outputs_that_are_one_array_get_separate_tangents() -> None:
    """f returning (y, y): the two tangents are separate arrays of the same numbers."""
    def f(v: Any) -> Any:
        y = 2 * v
        return y, y

    _, (ta, tb) = dg.jvp(f, (np.ones(2),), (np.ones(2),))
    assert not np.shares_memory(ta, tb)
    np.testing.assert_array_equal(ta, [2.0, 2.0])


# ---- 8. argument errors are dualgrad errors ------------------------------------------------------


@pytest.mark.parametrize("call", [
    lambda: dg.grad(lambda a, b: a * b, argnums=2)(1.0, 2.0),
    lambda: dg.jacobian(lambda a: a, chunk_size=0)(np.ones(2)),
    lambda: dg.derivative(dg.exp, order=-1),
    lambda: dg.grad(lambda a, b: a * b, argnums=(0, -2))(1.0, 2.0),
], ids=["argnums", "chunk_size", "order", "repeated-argnums"])
def test_out_of_range_arguments_raise_config_error(call: Any) -> None:
    """Out-of-range argnums, chunk_size and order raise ConfigError, a DualgradError."""
    with pytest.raises(dg.ConfigError) as info:
        call()
    assert isinstance(info.value, dg.DualgradError) and isinstance(info.value, ValueError)


def test_wrongly_typed_order_raises_dualgrad_type_error() -> None:
    """order=1.5 raises DualgradTypeError, a DualgradError and a TypeError."""
    with pytest.raises(dg.DualgradTypeError, match="order"):
        dg.derivative(dg.exp, order=1.5)


# ---- 9. mixed numbers of directions --------------------------------------------------------------


def test_joint_rule_refuses_mixed_numbers_of_directions() -> None:
    """concatenate of tangents along 1 and 3 directions raises ShapeError naming both."""
    a = Variable(np.ones(2), np.ones((1, 2)))
    b = Variable(np.ones(2), np.ones((3, 2)))
    with pytest.raises(dg.ShapeError, match=r"\(1 and 3\)"):
        dg.primitives.concatenate(a, b)


def test_jvp_fast_path_refuses_mixed_numbers_of_directions() -> None:
    """affine's fast path with x along 1 direction and w along 3 raises ShapeError."""
    x = Variable(np.ones((4, 2)), np.ones((1, 4, 2)))
    w = Variable(np.ones((2, 3)), np.ones((3, 2, 3)))
    with pytest.raises(dg.ShapeError, match=r"\(1 and 3\)"):
        dg.primitives.affine(x, w, np.zeros(3))


# ---- 10. NumPy's names take NumPy's arguments ----------------------------------------------------


def test_numpy_signatures() -> None:
    """dg.concatenate([a, b]), stack, transpose(v, axes), reshape(v, shape), squeeze(v, 0) work
    as in NumPy, tangents along."""
    x = RNG.normal(size=(2, 3))
    v = Variable(x, np.ones_like(x))
    np.testing.assert_array_equal(dg.concatenate([v, 2 * v]).grad,
                                  np.concatenate([np.ones((2, 3)), 2 * np.ones((2, 3))]))
    np.testing.assert_array_equal(dg.stack([v, v], 1).value, np.stack([x, x], 1))
    np.testing.assert_array_equal(dg.transpose(v, (1, 0)).value, x.T)
    np.testing.assert_array_equal(dg.reshape(v, (3, 2)).value, x.reshape(3, 2))
    np.testing.assert_array_equal(dg.squeeze(dg.reshape(v, (1, 6)), 0).value, x.ravel())
    np.testing.assert_array_equal(dg.sum(v, 0).grad, [2.0, 2.0, 2.0])
    np.testing.assert_allclose(dg.norm(v, 1).value, np.linalg.norm(x, 1), rtol=1e-15)
    np.testing.assert_array_equal(dg.clip(v, None, 0.0).value, np.clip(x, None, 0.0))
    raw = dg.primitives.concatenate(np.ones(2), np.zeros(1), axis=0)  # the primitive's own way
    np.testing.assert_array_equal(raw, [1.0, 1.0, 0.0])


def test_primitive_style_concatenate_call_says_how_to_call_it() -> None:
    """dg.concatenate(a, b) raises TypeError showing concatenate([a, b])."""
    a = np.ones(2)
    with pytest.raises(TypeError, match=r"concatenate\(\[a, b\]"):
        dg.concatenate(a, a)  # type: ignore[arg-type]


def test_star_import_leaves_builtins_alone() -> None:
    """from dualgrad import * binds no sum, max or min; dg.sum, dg.max, dg.min still exist."""
    namespace: dict[str, Any] = {}
    exec("from dualgrad import *", namespace)
    assert not {"sum", "max", "min"} & set(namespace)
    assert not {"sum", "max", "min"} & set(dg.__all__)
    assert float(dg.max(np.array([1.0, 3.0]))) == 3.0
    assert float(dg.min(np.array([1.0, 3.0]))) == 1.0
    assert float(dg.sum(np.array([1.0, 3.0]))) == 4.0


def test_numpy_api_docstring_examples_run() -> None:
    """The runnable examples in dualgrad.numpy_api give what they show."""
    result = doctest.testmod(dg.numpy_api, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


# ---- 11. the registry ----------------------------------------------------------------------------


@pytest.mark.parametrize("result", ["exp", b"exp"], ids=["str", "bytes"])
def test_hook_returning_a_string_is_not_an_iterable_of_primitives(plugins: FakePlugins,
                                                                  result: Any) -> None:
    """A hook returning "exp" fails as "not an iterable", not character by character."""
    plugins.add("strplug", plugin_module("fake_strplug",
                                      dualgrad_register_primitives=lambda: result))
    with pytest.warns(dg.PluginWarning, match="not an iterable of Primitives"):
        plugins.reload()
    assert plugins.status("strplug").status == "failed"


def test_numpy_function_claimed_by_two_plugins_names_them(plugins: FakePlugins) -> None:
    """np.cumprod on a Variable when two plugins implement it: an error naming both plugins."""
    for name in ("alpha", "beta"):
        cumprod = dg.Primitive("cumprod", np.cumprod, lambda t, out, x: t,
                               implements=np.cumprod)
        plugins.add(name, plugin_module(f"fake_{name}",
                                     dualgrad_register_primitives=lambda p=cumprod: [p]))
    plugins.reload()
    with pytest.raises(NotImplementedError,
                       match=r"2 plugins.*'alpha/cumprod'.*'beta/cumprod'"):
        np.cumprod(Variable(np.array([0.5]), np.ones(1)))


def test_plugins_are_listed_builtin_first_then_by_name(plugins: FakePlugins) -> None:
    """dg.plugins(): builtin first, then the others in name order, failed or not."""
    plugins.add("zeta", plugin_module("fake_zeta",
                                   dualgrad_register_primitives=lambda: [cube_primitive()]))
    plugins.add("aaa_ghost")  # fails to import
    plugins.add("disabled_one")
    plugins.setenv("DUALGRAD_DISABLE_PLUGINS", "disabled_one")
    with pytest.warns(dg.PluginWarning, match="aaa_ghost"):
        plugins.reload()
    assert [p.name for p in dg.plugins()] == ["builtin", "aaa_ghost", "disabled_one", "zeta"]


def test_plugin_with_only_a_misspelt_hook_records_the_warning(plugins: FakePlugins) -> None:
    """A plugin whose one hook is misspelt stays active and keeps the warning in its info."""
    plugins.add("typo", plugin_module("fake_typo",
                                   dualgrad_register_primitive=lambda: [cube_primitive()]))
    with pytest.warns(dg.PluginWarning, match="dualgrad_register_primitive'"):
        plugins.reload()
    info = plugins.status("typo")
    assert info.status == "active" and info.registered == {}
    assert len(info.warnings) == 1 and "'dualgrad_register_primitive'" in info.warnings[0]


def test_strict_plugin_failure_reads_as_an_error(plugins: FakePlugins) -> None:
    """In strict mode the PluginLoadError says the plugin failed, not that it was skipped."""
    plugins.add("ghost")
    plugins.setenv("DUALGRAD_STRICT_PLUGINS", "1")
    with pytest.raises(dg.PluginLoadError) as info:
        plugins.reload()
    message = str(info.value)
    assert "'ghost'" in message and "failed to load" in message
    assert "skipped" not in message and "Everything else works" not in message


def test_plugin_warning_points_at_the_users_call(plugins: FakePlugins) -> None:
    """The warning for a broken plugin is attributed to the user's line that loaded it."""
    plugins.add("ghost")
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        _registry.reload()
    assert len(record) == 1
    assert record[0].filename == __file__


def test_unknown_name_suggests_a_name_two_plugins_share(plugins: FakePlugins) -> None:
    """A typo of a name two plugins share suggests that name, which then says how to choose."""
    for name in ("alpha", "beta"):
        cube = cube_primitive("cubical")
        plugins.add(name, plugin_module(f"fake_{name}",
                                     dualgrad_register_primitives=lambda p=cube: [p]))
    plugins.reload()
    with pytest.raises(dg.UnknownNameError) as info:
        dg.primitive("cubicl")
    message = str(info.value)
    assert "Did you mean" in message
    assert "'cubical'" in message.split("Did you mean", 1)[1]
