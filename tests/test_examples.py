"""The examples in dualgrad.examples, which examples/ and `dualgrad demo` run.

They must reach the blog's numbers: the fitted line within 0.01 of y = 3x - 2, a logistic fit
better than the true line on its own sample, and a 2-2-1 network whose loss falls.
"""

from __future__ import annotations

import ast
import itertools
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dualgrad import examples
from dualgrad.examples import _common, deep_network, linear_regression, logistic_regression

ROOT = Path(__file__).resolve().parent.parent
NUMBER = r"[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?"


def test_linear_regression_reaches_the_blogs_line(capsys):
    """The regression fits m = 3.00 +- 0.01 and b = -2.00 +- 0.01 and prints the blog's lines."""
    result = linear_regression.main(out_dir=None)
    assert result["m"] == pytest.approx(3.0, abs=0.01)
    assert result["b"] == pytest.approx(-2.0, abs=0.01)
    out = capsys.readouterr().out
    m_line = re.search(rf"^m 3\.0 m prime ({NUMBER})$", out, re.MULTILINE)
    b_line = re.search(rf"^b -2\.0 b prime ({NUMBER})$", out, re.MULTILINE)
    assert m_line and b_line, out
    assert float(m_line.group(1)) == pytest.approx(result["m"], abs=1e-4)
    assert float(b_line.group(1)) == pytest.approx(result["b"], abs=1e-4)
    mse_fit = re.search(rf"^MSE autodiff ({NUMBER})$", out, re.MULTILINE)
    mse_truth = re.search(rf"^MSE truth ({NUMBER})$", out, re.MULTILINE)
    assert mse_fit and mse_truth, out
    assert float(mse_fit.group(1)) == pytest.approx(result["mse"], rel=1e-12)
    assert float(mse_truth.group(1)) == pytest.approx(result["mse_truth"], rel=1e-12)


def test_linear_regression_mse_is_the_least_squares_one():
    """The fitted line's MSE is at most the true line's (it is the least-squares fit), and
    both sit near the noise variance 1e-4; the truth's MSE is computed here by hand."""
    result = linear_regression.main(out_dir=None)
    x, y = _common.line_data(0)
    truth = float(np.mean((y - (3 * x - 2)) ** 2))
    assert result["mse_truth"] == pytest.approx(truth, rel=1e-12)
    slope, intercept = np.polyfit(x, y, 1)
    least_squares = float(np.mean((y - (slope * x + intercept)) ** 2))
    assert result["mse"] == pytest.approx(least_squares, rel=1e-3)
    assert result["mse"] <= truth
    assert 0.5e-4 < result["mse"] < 2e-4
    losses = result["losses"]
    assert len(losses) == 1000 and losses[-1] < 1e-3 * losses[0]


def test_logistic_regression_beats_the_true_line_on_its_sample(capsys):
    """The logistic fit's log loss is finite and below that of the true line, as in the blog
    (0.109 against 0.157), and both are printed."""
    result = logistic_regression.main(out_dir=None)
    assert 0 < result["logloss"] < result["logloss_truth"]
    # the true line's loss, by hand: sigmoid(3x - 2) against the sample's labels
    x, y = _common.class_data(0)
    p = 1 / (1 + np.exp(-(3 * x - 2)))
    truth = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    assert result["logloss_truth"] == pytest.approx(truth, rel=1e-9)
    out = capsys.readouterr().out
    fit_line = re.search(rf"^Log loss autodiff ({NUMBER})$", out, re.MULTILINE)
    truth_line = re.search(rf"^Log loss truth ({NUMBER})$", out, re.MULTILINE)
    assert fit_line and truth_line, out
    assert float(fit_line.group(1)) == pytest.approx(result["logloss"], rel=1e-12)


def test_deep_network_loss_falls_as_in_the_blogs_table(capsys):
    """The 2-2-1 network prints its loss every 5 iterations and at the last, each printed
    value below the one before, and reports 7 parameters."""
    result = deep_network.main(out_dir=None)
    assert result["num_params"] == 7
    losses = result["losses"]
    assert len(losses) == 100
    assert losses[-1] < losses[0]
    out = capsys.readouterr().out
    rows = re.findall(rf"^Iter/Log loss:  (\d+) ({NUMBER})$", out, re.MULTILINE)
    iters = [int(i) for i, _ in rows]
    printed = [float(v) for _, v in rows]
    assert iters == [*range(0, 100, 5), 99]
    assert printed == pytest.approx([losses[i] for i in iters], rel=1e-12)
    assert all(b < a for a, b in itertools.pairwise(printed)), printed
    assert "parameters: 7" in out


@pytest.mark.parametrize("module", [linear_regression, logistic_regression, deep_network])
def test_examples_are_reproducible_by_seed(module, capsys):
    """An experiment run twice with one seed gives the same losses, and another seed others."""
    a = module.main(seed=1, out_dir=None)["losses"]
    b = module.main(seed=1, out_dir=None)["losses"]
    c = module.main(seed=2, out_dir=None)["losses"]
    assert a == b
    assert a != c


def test_examples_skip_pictures_without_matplotlib(tmp_path, monkeypatch, capsys):
    """Without matplotlib an example says so, saves nothing, and still returns its results."""
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    result = deep_network.main(out_dir=tmp_path / "pics")
    assert result["num_params"] == 7
    out = capsys.readouterr().out
    assert "matplotlib is not installed, so no pictures" in out
    assert not (tmp_path / "pics").exists()


def test_examples_save_two_pngs_with_matplotlib(tmp_path):
    """With matplotlib an example saves a loss curve and a fit, both PNG files."""
    deep_network.main(out_dir=tmp_path)
    for name in ("deep_network_loss.png", "deep_network_fit.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


EXAMPLE_MODULES = sorted(info.name for info in pkgutil.iter_modules(examples.__path__)
                         if not info.name.startswith("_"))


def test_each_example_has_a_script_in_the_examples_folder():
    """examples/ holds one script per module of dualgrad.examples, and no other script."""
    scripts = sorted(path.stem for path in (ROOT / "examples").glob("*.py"))
    assert scripts == EXAMPLE_MODULES
    assert EXAMPLE_MODULES == ["breast_cancer", "deep_network", "digits", "linear_regression",
                               "logistic_regression"]


@pytest.mark.parametrize("name", EXAMPLE_MODULES)
def test_an_examples_script_runs_the_installed_module(name):
    """examples/NAME.py imports `main` from dualgrad.examples.NAME and calls it when run, and
    the folder's README names it."""
    tree = ast.parse((ROOT / "examples" / f"{name}.py").read_text(encoding="utf-8"))
    imports = [(node.module, [alias.name for alias in node.names]) for node in tree.body
               if isinstance(node, ast.ImportFrom)]
    assert imports == [(f"dualgrad.examples.{name}", ["main"])]
    calls = [node.func.id for node in ast.walk(tree)
             if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)]
    assert calls == ["main"]
    assert f"`{name}.py`" in (ROOT / "examples" / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("command", [["examples/deep_network.py"],
                                     ["-m", "dualgrad.examples.deep_network"]],
                         ids=["script", "module"])
def test_an_example_runs_on_its_own(tmp_path, command):
    """python examples/deep_network.py, and python -m dualgrad.examples.deep_network from any
    folder, run the example, printing the loss table and no warnings."""
    if command[0].endswith(".py"):
        command = [str(ROOT / command[0])]
    done = subprocess.run([sys.executable, *command], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert "Iter/Log loss:  99" in done.stdout
    assert "parameters: 7" in done.stdout


# ---- the scikit-learn data sets ---------------------------------------------------------------


def test_digits_example_learns_on_a_small_run(tmp_path, capsys):
    """The digits example (multi-class, accuracy, validation, early stopping, the history's
    picture) runs on a subset and a few epochs and learns well beyond chance (0.1)."""
    pytest.importorskip("sklearn")
    from dualgrad.examples import digits

    result = digits.main(epochs=4, subset=400, out_dir=tmp_path)
    assert result["accuracy"] > 0.6
    assert set(result["history"]) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert "test accuracy" in capsys.readouterr().out
    pytest.importorskip("matplotlib")
    assert (tmp_path / "digits_history.png").read_bytes()[:4] == b"\x89PNG"


def test_breast_cancer_example_cross_validates_a_pipeline(capsys):
    """The breast cancer example scores a scaler + DualgradClassifier pipeline by
    cross-validation, well above the majority class (0.63)."""
    pytest.importorskip("sklearn")
    from dualgrad.examples import breast_cancer

    result = breast_cancer.main(epochs=3, folds=3)
    assert len(result["scores"]) == 3 and result["scores"].mean() > 0.9
    assert "breast cancer: accuracy" in capsys.readouterr().out
