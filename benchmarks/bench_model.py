"""The blog's 2-2-1 network, 100 full-batch SGD steps on 100 samples, three ways, one process:

  dualgrad   Model.fit: every parameter's tangent seeded at once, one vectorised pass a step
  (a) blog   the blog's own Variable class and loop: one parameter and one sample per pass
  (b) NumPy  hand-derived gradients (backpropagation written out by hand)

Aims: issue 3, at least 300x faster than (a) and within 4x of (b); issue 6, 500x and 1.5x;
issue 11, 1.2x (b).

Model.fit records its step once and replays it; a model keeps the programs of small
full-batch data from one fit to the next, so the repeated fits timed here replay. Timed too:
fits on new numbers (alternating two datasets), which fold the new data into the recorded
step, and a new model's first fit, which records it.

    python benchmarks/bench_model.py
"""

from __future__ import annotations

import numpy as np
from _timing import best_time, report

import dualgrad as dg

STEPS, N, LR = 100, 100, 0.1
CONFIG = {
    "layers": [{"type": "dense", "units": 2},
               {"type": "dense", "units": 1, "activation": "sigmoid"}],
    "loss": "logloss",
    "optimizer": {"type": "sgd", "lr": LR},
    "seed": 0,
    "input_shape": [1],
}


# ---- (a) the blog's code, verbatim but for the operators this network does not use ------

class Variable:
    def __init__(self, value, grad=0):
        self.value = value
        self.grad = grad

    def __add__(self, v):
        return Variable(self.value + v.value, self.grad + v.grad)

    def __sub__(self, v):
        return Variable(self.value - v.value, self.grad - v.grad)

    def __mul__(self, v):
        return Variable(self.value * v.value, self.grad * v.value + self.value * v.grad)


class Log:
    def __call__(self, v):
        return Variable(np.log(v.value), v.grad / v.value)


class Sigmoid:
    def __call__(self, v):
        value = 1 / (1 + np.exp(-v.value))
        return Variable(value, (value * (1 - value)) * v.grad)


log, sigmoid = Log(), Sigmoid()


def logloss(true_val, pred_val):
    pred_val = Variable(np.clip(pred_val.value, 1e-15, 1 - 1e-15), pred_val.grad)
    if true_val.value == 1:
        return Variable(-1, 0) * log(pred_val)
    return Variable(-1, 0) * log(Variable(1, 0) - pred_val)


def deep_model(x, y, param_config, learn_config={}):  # noqa: B006 - the blog's code
    """
    m{layer}_{node} - the weights
    b{layer}_{node} - the intercept

    layer{layer}_{node}_out - the output of the {layer}
    """
    m0_0 = param_config.get("m0_0", 0)
    m0_1 = param_config.get("m0_1", 0)
    b0_0 = param_config.get("b0_0", 0)
    b0_1 = param_config.get("b0_1", 0)
    m1_0 = param_config.get("m1_0", 0)
    m1_1 = param_config.get("m1_1", 0)
    b1 = param_config.get("b1", 0)

    lw_m0_0 = learn_config.get("m0_0", 0)
    lw_m0_1 = learn_config.get("m0_1", 0)
    lw_b0_0 = learn_config.get("b0_0", 0)
    lw_b0_1 = learn_config.get("b0_1", 0)
    lw_m1_0 = learn_config.get("m1_0", 0)
    lw_m1_1 = learn_config.get("m1_1", 0)
    lw_b1 = learn_config.get("b1", 0)

    layer0_0_out = Variable(m0_0, lw_m0_0) * Variable(x) + Variable(b0_0, lw_b0_0)
    layer0_1_out = Variable(m0_1, lw_m0_1) * Variable(x) + Variable(b0_1, lw_b0_1)
    layer1_0_out = layer0_0_out * Variable(m1_0, lw_m1_0) + layer0_1_out * Variable(
        m1_1, lw_m1_1) + Variable(b1, lw_b1)

    y_pred = sigmoid(layer1_0_out)
    return logloss(Variable(y), y_pred).value, logloss(Variable(y), y_pred).grad


def blog_steps(x, y, param_info, iters):
    """The blog's training loop. (The blog resets its gradient lists with a shallow dict copy,
    so they grow across iterations; fresh lists here keep each step's gradient right.)"""
    param_list = list(param_info)
    for _ in range(iters):
        grad_info = {k: [] for k in param_list}
        train_log_loss = []
        for x_, y_ in zip(x, y):
            for param in param_list:
                grad_info[param].append(deep_model(x_, y_, param_info, {param: 1})[1])
            train_log_loss.append(deep_model(x_, y_, param_info)[0])
        for param in param_list:
            param_info[param] -= LR * np.mean(grad_info[param])
    return param_info


# ---- (b) hand-derived NumPy gradients -----------------------------------------------------------

def numpy_steps(x, y, w0, b0, w1, b1, steps):
    x, y = x.reshape(-1, 1), y.reshape(-1, 1)
    n = x.shape[0]
    for _ in range(steps):
        h = x @ w0 + b0
        p = 1.0 / (1.0 + np.exp(-(h @ w1 + b1)))
        pc = np.clip(p, 1e-7, 1 - 1e-7)
        _loss = -np.mean(y * np.log(pc) + (1 - y) * np.log(1 - pc))
        dz = (p - y) / n
        dh = dz @ w1.T
        w1, b1 = w1 - LR * (h.T @ dz), b1 - LR * dz.sum(0)
        w0, b0 = w0 - LR * (x.T @ dh), b0 - LR * dh.sum(0)
    return w0, b0, w1, b1


def numpy_steps_dot(x, y, w0, b0, w1, b1, steps):
    """(b) with every product through ndarray.dot, which skips the matmul ufunc's dispatch
    (dualgrad's dense layer does the same): the fastest hand-written form found."""
    x, y = x.reshape(-1, 1), y.reshape(-1, 1)
    n = x.shape[0]
    for _ in range(steps):
        h = x.dot(w0) + b0
        p = 1.0 / (1.0 + np.exp(-(h.dot(w1) + b1)))
        pc = np.clip(p, 1e-7, 1 - 1e-7)
        _loss = -np.mean(y * np.log(pc) + (1 - y) * np.log(1 - pc))
        dz = (p - y) / n
        dh = dz.dot(w1.T)
        w1, b1 = w1 - LR * h.T.dot(dz), b1 - LR * dz.sum(0)
        w0, b0 = w0 - LR * x.T.dot(dh), b0 - LR * dh.sum(0)
    return w0, b0, w1, b1


def main() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=N)
    y = (3 * x - 2 + rng.normal(size=N) > 0).astype(float)
    model = dg.Model.from_config(CONFIG)
    start = model.get_weights()

    def fit():
        model.set_weights(start)
        model.fit(x, y, epochs=STEPS, shuffle=False, verbose=False)

    # all three compute the same trajectory (up to the clipping of p in the loss)
    fit()
    ours = model.get_weights()
    hand = numpy_steps(x, y, *start, STEPS)
    assert all(np.allclose(a, b, atol=1e-6) for a, b in zip(ours, hand))
    names = ["m0_0", "m0_1", "b0_0", "b0_1", "m1_0", "m1_1", "b1"]
    w0, b0, w1, b1 = start
    blog_params = dict(zip(names, [w0[0, 0], w0[0, 1], b0[0], b0[1], w1[0, 0], w1[1, 0],
                                   b1[0]]))
    blog_after = blog_steps(x, y, dict(blog_params), 2)
    ours_2 = numpy_steps(x, y, *start, 2)
    assert np.isclose(blog_after["m1_0"], ours_2[2][0, 0])

    t_model = best_time(fit, repeat=5)
    # a fit on numbers the model has not trained on folds them into the step it recorded
    # (the layers' Python does not run again): alternate two datasets a rounding apart
    x_other = x * (1 + 2**-52)
    data = [x_other, x]

    def fit_new_data():
        data.reverse()
        model.set_weights(start)
        model.fit(data[0], y, epochs=STEPS, shuffle=False, verbose=False)

    t_new = best_time(fit_new_data, repeat=5)
    # a new model's first fit records its step (the models are built outside the timing)
    fresh = [dg.Model.from_config(CONFIG) for _ in range(6)]

    def first_fit():
        m = fresh.pop()
        m.set_weights(start)
        m.fit(x, y, epochs=STEPS, shuffle=False, verbose=False)

    t_first = best_time(first_fit, repeat=5)
    assert all(np.allclose(a, b) for a, b in zip(hand, numpy_steps_dot(x, y, *start, STEPS)))
    t_numpy = best_time(lambda: numpy_steps(x, y, *start, STEPS), repeat=5)
    t_dot = best_time(lambda: numpy_steps_dot(x, y, *start, STEPS), repeat=5)
    blog_sample_steps = 5
    t_blog = best_time(lambda: blog_steps(x, y, dict(blog_params), blog_sample_steps),
                       repeat=5) * STEPS / blog_sample_steps
    print(f"2-2-1 network, {STEPS} full-batch steps on {N} samples "
          f"(blog loop timed over {blog_sample_steps} steps and scaled)")
    report("(b) hand-derived NumPy gradients", t_numpy, t_numpy, "NumPy")
    report("(b') the same with ndarray.dot", t_dot, t_numpy, "NumPy")
    report("dualgrad Model.fit", t_model, t_numpy, "NumPy")
    report("the same, new data each fit (refolded)", t_new, t_numpy, "NumPy")
    report("a new model's first fit (recorded)", t_first, t_numpy, "NumPy")
    report("(a) the blog's loop", t_blog, t_numpy, "NumPy")
    print(f"Model.fit is {t_blog / t_model:.0f}x faster than the blog's loop and "
          f"{t_model / t_numpy:.2f}x the time of hand-derived NumPy ({t_model / t_dot:.2f}x "
          f"the ndarray.dot form); on new data {t_new / t_numpy:.2f}x; a new model's first "
          f"fit, which records its step, {t_first / t_numpy:.2f}x")


if __name__ == "__main__":
    main()
