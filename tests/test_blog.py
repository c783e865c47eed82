"""The blog's three training loops, run unchanged on dualgrad.

The blog's class definitions (Variable, Log, Exp, Sigmoid) are replaced by imports from dualgrad;
its user code (mse, logloss, deep_model) and its loop bodies are copied as literally as possible.
Differences, each for a reason:

- the data come from a seeded generator, so the results are reproducible;
- sklearn is not a dependency: its mean_squared_error and log_loss are two numpy lines below;
- print calls are kept where the blog has them (pytest captures them).
"""

# The blog's loops are copied literally, unused loop names and long lines included.
# ruff: noqa: B007, E501, RUF059

from __future__ import annotations

import numpy as np
import pytest

from dualgrad import Variable, exp, log, sigmoid  # noqa: F401 - the blog's names, exp included


def mean_squared_error(y_true, y_pred):  # stands in for sklearn's
    return float(np.mean((np.asarray(y_true) - np.asarray(y_pred)) ** 2))


def log_loss(y_true, y_pred):  # stands in for sklearn's
    y_true, y_pred = np.asarray(y_true), np.clip(np.asarray(y_pred), 1e-15, 1 - 1e-15)
    return float(-np.mean(y_true * np.log(y_pred) + (1 - y_true) * np.log(1 - y_pred)))


# ---- the blog's user code -----------------------------------------------------------------------


def mse(a, b):
    return (a-b)**Variable(2, 0)


def logloss(true_val, pred_val):
    # avoid divide by 0 errors...
    pred_val = Variable(np.clip(pred_val.value, 1e-15, 1-1e-15), pred_val.grad)
    if true_val.value == 1:
        return Variable(-1, 0)*log(pred_val)
    else:
        neg_pred_val = Variable(1, 0) - pred_val
        return Variable(-1, 0)*log(neg_pred_val)


def deep_model(x, y, param_config, learn_config={}):  # noqa: B006
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
    layer1_0_out = layer0_0_out * Variable(m1_0, lw_m1_0) + layer0_1_out * Variable(m1_1, lw_m1_1) + Variable(b1, lw_b1)

    y_pred = sigmoid(layer1_0_out)
    return logloss(Variable(y), y_pred).value, logloss(Variable(y), y_pred).grad


# ---- the blog's data, seeded --------------------------------------------------------------------


def linear_data():
    """The blog's data: y = 3x - 2 plus noise / 100, x ~ N(0, 1), 100 points."""
    random = np.random.RandomState(0)
    m = 3
    b = -2
    x = random.normal(size=(100,))
    y = m*x + b + random.normal(size=(100,))/100
    return m, b, x, y


def classification_data():
    """Labels of the linear data: y = (3x - 2 + noise > 0) as floats."""
    m, b, x, y = linear_data()
    return m, b, x, (y > 0).astype(float)


# ---- the three experiments ----------------------------------------------------------------------


def test_blog_linear_regression(capsys: pytest.CaptureFixture[str]) -> None:
    """The blog's linear regression loop finds m = 3 and b = -2 within 0.01."""
    m, b, x, y = linear_data()

    # let's find the line of best fit using auto differentiation!

    m_prime = 0
    b_prime = 0
    lr = 0.1
    iters = 1000

    # gather all gradients
    for _ in range(iters):
        m_grad = []
        b_grad = []
        for x_, y_ in zip(x, y):
            ym_pred = Variable(m_prime, 1) * Variable(x_) + Variable(b_prime)
            yb_pred = Variable(m_prime) * Variable(x_) + Variable(b_prime, 1)
            m_grad.append(mse(Variable(y_), ym_pred).grad)
            b_grad.append(mse(Variable(y_), yb_pred).grad)

        m_prime -= lr*np.mean(m_grad)
        b_prime -= lr*np.mean(b_grad)

    print("m", m, "m prime", np.round(m_prime, 4))
    print("b", b, "b prime", np.round(b_prime, 4))

    predictions = []
    for x_, y_ in zip(x, y):
        y_pred = Variable(m_prime, 0) * Variable(x_, 0) + Variable(b_prime, 0)
        predictions.append(y_pred.value)
    print("MSE autodiff", mean_squared_error(y, predictions))
    mse_autodiff = mean_squared_error(y, predictions)

    assert abs(m_prime - m) < 0.01
    assert abs(b_prime - b) < 0.01
    # the fitted line is as good as the truth on noise of standard deviation 0.01
    assert mse_autodiff <= mean_squared_error(y, m*x + b) * 1.01
    assert mse_autodiff < 2e-4
    assert "m 3 m prime 3.0" in capsys.readouterr().out


def test_blog_logistic_regression() -> None:
    """The blog's logistic regression loop brings the log-loss far below the initial 0.693."""
    m, b, x, y = classification_data()

    # let's find the line of best fit using auto differentiation!

    m_prime = 0
    b_prime = 0
    lr = 0.1
    iters = 1000

    # gather all gradients
    for idx in range(iters):
        m_grad = []
        b_grad = []
        for x_, y_ in zip(x, y):
            ym_pred = Variable(m_prime, 1) * Variable(x_, 0) + Variable(b_prime, 0)
            yb_pred = Variable(m_prime, 0) * Variable(x_, 0) + Variable(b_prime, 1)

            ym_pred = sigmoid(ym_pred)
            yb_pred = sigmoid(yb_pred)

            m_grad.append(logloss(Variable(y_, 0), ym_pred).grad)
            b_grad.append(logloss(Variable(y_, 0), yb_pred).grad)

        m_prime -= lr*np.mean(m_grad)
        b_prime -= lr*np.mean(b_grad)

    predictions = []
    logloss_est = []
    for x_, y_ in zip(x, y):
        y_pred = Variable(m_prime, 0) * Variable(x_, 0) + Variable(b_prime, 0)
        predictions.append(sigmoid(y_pred).value)
        logloss_est.append(logloss(Variable(y_), y_pred).value)
    print("Log loss autodiff", log_loss(y, predictions))
    loss_autodiff = log_loss(y, predictions)

    initial = log_loss(y, np.full(len(y), 0.5))
    assert initial == np.float64(np.log(2))
    assert loss_autodiff < 0.2
    assert loss_autodiff < initial / 3
    # the separating line points the way of the truth: m > 0, and x > 2/3 is class 1
    assert m_prime > 0 and b_prime < 0
    accuracy = np.mean((np.asarray(predictions) > 0.5) == (y == 1))
    assert accuracy >= 0.95


def test_blog_deep_network() -> None:
    """The blog's 2-2-1 network trained one parameter at a time: the log-loss falls below 0.3."""
    m, b, x, y = classification_data()
    random = np.random.RandomState(1)

    grad_info = {
        "m0_0":[], "m0_1":[], "b0_0":[], "b0_1":[], "m1_0":[], "m1_1":[], "b1":[]
    }

    grad_info_reset = grad_info.copy()

    param_info = {
        "m0_0":random.normal(), "m0_1":random.normal(), "b0_0":random.normal(), "b0_1":random.normal(), "m1_0":random.normal(), "m1_1":random.normal(), "b1":random.normal()
    }
    param_list = list(grad_info.keys())
    lr = 0.1
    iters = 100
    losses = []

    # gather all gradients
    for idx in range(iters):
        grad_info = grad_info_reset.copy()
        train_log_loss = []
        for x_, y_ in zip(x, y):
            for param in param_list:
                grad_info[param].append(deep_model(x_, y_, param_info, {param:1})[1])
            # calculate logloss
            train_log_loss.append(deep_model(x_, y_, param_info)[0])

        for param in param_list:
            param_info[param] -= lr * np.mean(grad_info[param])

        if idx % 5 == 0 or idx == iters-1:
            print("Iter/Log loss: ", idx, np.mean(train_log_loss))
        losses.append(np.mean(train_log_loss))

    assert losses[-1] < losses[0]
    assert losses[-1] < 0.3
    # training makes progress through the run, not only at the start
    assert losses[-1] < losses[iters // 2]
