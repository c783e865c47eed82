"""Unit seeds: the affine rule's scatter path gives the same numbers as the dense products."""

from __future__ import annotations

import numpy as np
import pytest

import dualgrad as dg
from dualgrad import _seeds


def _model(units: list[int], activation: str, seed: int, budget: int) -> dg.Model:
    layers = [{"type": "dense", "units": u, "activation": activation} for u in units[:-1]]
    layers.append({"type": "dense", "units": units[-1]})
    return dg.Model(layers, "mse", "sgd", seed=seed, input_shape=[3], memory_budget=budget)


@pytest.mark.parametrize("budget", [1 << 30, 20_000, 3_000])
@pytest.mark.parametrize("units", [[4, 2], [5, 3, 1], [1], [20, 20, 1]])
def test_scattered_unit_seeds_match_the_dense_products(monkeypatch, units, budget):
    """Scattering unit seeds gives Model.gradient the dense products' numbers to 1e-12, whole
    or in chunks that cut through a weight's block of directions."""
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(17, 3)), rng.normal(size=(17, units[-1]))
    model = _model(units, "tanh", 0, budget)
    scattered = model.gradient(x, y)
    monkeypatch.setattr(_seeds, "offset", lambda t: None)  # every tangent looks ordinary
    dense = model.gradient(x, y)
    for a, b in zip(dense, scattered):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)


def test_scattered_gradient_matches_finite_differences(monkeypatch):
    """The scattered gradient agrees with central finite differences of the loss, with
    several units per layer and chunks smaller than a weight."""
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(11, 3)), rng.normal(size=(11, 2))
    model = _model([3, 2], "sigmoid", 3, 5_000)
    grads = model.gradient(x, y)
    weights = model.get_weights()
    eps = 1e-6
    for i, w in enumerate(weights):
        for idx in np.ndindex(w.shape):
            bumped = [v.copy() for v in weights]
            bumped[i][idx] += eps
            model.set_weights(bumped)
            up = model.evaluate(x, y)
            bumped[i][idx] -= 2 * eps
            model.set_weights(bumped)
            down = model.evaluate(x, y)
            assert abs((up - down) / (2 * eps) - grads[i][idx]) < 1e-7
    model.set_weights(weights)


# ---- frozen batches: the first layer's seeded tangent is computed once per batch ---------------

def _count_seeded_affine(monkeypatch) -> list[int]:
    from dualgrad.primitives import fused

    calls = [0]
    original = fused._seeded_affine

    def counting(*args):
        calls[0] += 1
        return original(*args)

    monkeypatch.setattr(fused, "_seeded_affine", counting)
    return calls


@pytest.mark.parametrize("batch_size, batches", [(None, 1), (5, 4)])
def test_fit_on_fixed_batches_matches_plain_gradient_steps(monkeypatch, batch_size, batches):
    """Full-batch and unshuffled mini-batch training reuse the first layer's tangent from one
    step to the next; the weights are those of SGD steps on Model.gradient (which recomputes
    everything), to 1e-12, and the tangent is computed once per batch, not once per step."""
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(17, 3)), rng.normal(size=(17, 2))
    model = _model([4, 2], "tanh", 5, 1 << 30)
    reference = dg.Model.from_config(model.get_config())
    calls = _count_seeded_affine(monkeypatch)
    model.fit(x, y, epochs=3, batch_size=batch_size, shuffle=False, verbose=False)
    assert calls[0] == batches
    size = batch_size or 17
    for _ in range(3):
        for i in range(0, 17, size):
            grads = reference.gradient(x[i:i + size], y[i:i + size])
            reference.set_weights([w - 0.01 * g for w, g in zip(reference.get_weights(), grads)])
    for a, b in zip(model.get_weights(), reference.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_fit_does_not_freeze_the_callers_data():
    """fit freezes a private copy: the caller's arrays stay writable and unchanged."""
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(9, 3)), rng.normal(size=(9, 1))
    before = x.copy()
    _model([2, 1], "tanh", 0, 1 << 30).fit(x, y, epochs=2, verbose=False)
    assert x.flags.writeable and y.flags.writeable
    x[0, 0] = 1.0  # still writable
    before[0, 0] = 1.0
    np.testing.assert_array_equal(x, before)


def test_shuffled_and_chunked_training_keep_nothing(monkeypatch):
    """Shuffled mini-batches are new arrays every epoch, and a chunked plan has other seeds
    every pass: neither freezes its batches, so nothing is kept from step to step."""
    rng = np.random.default_rng(6)
    x, y = rng.normal(size=(12, 3)), rng.normal(size=(12, 1))
    calls = _count_seeded_affine(monkeypatch)
    _model([3, 1], "tanh", 0, 1 << 30).fit(x, y, epochs=2, batch_size=4, verbose=False)
    _model([3, 1], "tanh", 0, 3_000).fit(x, y, epochs=2, verbose=False)
    assert calls[0] == 0


def test_frozen_array_store_is_read_only_and_bounded():
    """A frozen array rejects writes; its store keeps a few read-only tangents, none too large,
    and disappears with the array."""
    x = _seeds.freeze(np.ones((3, 2)))
    with pytest.raises(ValueError):
        x[0, 0] = 2.0
    store = _seeds.memo(x)
    assert store == {} and _seeds.memo(np.ones(2)) is None
    for k in range(_seeds._MEMO_ENTRIES + 2):
        t = np.zeros(3)
        _seeds.remember(store, k, t)
        assert not t.flags.writeable
    assert len(store) == _seeds._MEMO_ENTRIES
    key = id(x)
    del x, store
    assert key not in _seeds._MEMOS


def test_affine_reuses_the_seeded_tangent_of_frozen_data():
    """On frozen x, the affine map of unit-seeded weights returns the same (read-only) tangent
    on every call, equal to the tangent computed on ordinary data."""
    rng = np.random.default_rng(7)
    plain = rng.normal(size=(5, 3))
    frozen = _seeds.freeze(plain.copy())
    w, b = rng.normal(size=(3, 2)), rng.normal(size=2)
    tag = dg._core.new_tag()
    seeds = np.eye(8)
    tw = _seeds.mark(np.ascontiguousarray(seeds[:, :6].reshape(8, 3, 2)), 0)
    tb = _seeds.mark(np.ascontiguousarray(seeds[:, 6:]), 6)

    def tangent(x):
        out = dg.primitives.affine(x, dg.Variable._make(w, tw, tag),
                                   dg.Variable._make(b, tb, tag))
        return out.tangent

    first, second, reference = tangent(frozen), tangent(frozen), tangent(plain)
    assert first is second and not first.flags.writeable
    np.testing.assert_array_equal(first, reference)
    for k in range(6):  # direction k is the unit vector of w's flat element k: a column of x
        i, j = divmod(k, 2)
        np.testing.assert_array_equal(reference[k][:, j], plain[:, i])
    np.testing.assert_array_equal(reference[6:, :, :], np.broadcast_to(np.eye(2)[:, None, :],
                                                                        (2, 5, 2)))


def test_frozen_data_keeps_one_tangent_per_set_of_seeds():
    """Other seeds on the same frozen x (another chunk layout, another model) get their own
    tangent, equal to the dense products of unmarked seeds on ordinary data."""
    rng = np.random.default_rng(8)
    plain = rng.normal(size=(4, 2))
    frozen = _seeds.freeze(plain.copy())
    w, b = rng.normal(size=(2, 3)), rng.normal(size=3)
    tag = dg._core.new_tag()

    def tangent(x, offset, marked):
        # 12 directions; the 9 weights (w's 6, then b's 3) take directions offset..offset+8
        seeds = np.zeros((12, 9))
        seeds[np.arange(9) + offset, np.arange(9)] = 1.0
        tw = np.ascontiguousarray(seeds[:, :6].reshape(12, 2, 3))
        tb = np.ascontiguousarray(seeds[:, 6:])
        if marked:
            tw, tb = _seeds.mark(tw, offset), _seeds.mark(tb, offset + 6)
        return dg.primitives.affine(x, dg.Variable._make(w, tw, tag),
                                    dg.Variable._make(b, tb, tag)).tangent

    for offset in (0, 1, 3, 0):
        np.testing.assert_allclose(tangent(frozen, offset, True), tangent(plain, offset, False),
                                   rtol=0, atol=1e-15)


def test_fit_keeps_nothing_when_every_batch_would_exceed_the_budget(monkeypatch):
    """Kept tangents count against the memory budget: with 10 unshuffled batches whose tangents
    together exceed a quarter of it (one pass per batch still covers every weight), nothing is
    frozen or kept, and training gives the same weights."""
    rng = np.random.default_rng(9)
    x, y = rng.normal(size=(40, 3)), rng.normal(size=(40, 2))
    model = _model([4, 2], "tanh", 5, 50_000)
    reference = _model([4, 2], "tanh", 5, 1 << 30)
    calls = _count_seeded_affine(monkeypatch)
    model.fit(x, y, epochs=2, batch_size=4, shuffle=False, verbose=False)
    assert calls[0] == 0 and model._gradients.chunk_size(model._weights, 4) >= model.num_params
    reference.fit(x, y, epochs=2, batch_size=4, shuffle=False, verbose=False)
    assert calls[0] == 10
    for a, b in zip(model.get_weights(), reference.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
