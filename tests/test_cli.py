"""The ``dualgrad`` command: ``demo``, ``train`` and ``plugins``, in process and installed."""

from __future__ import annotations

import re
import subprocess
import sys
import sysconfig
from pathlib import Path

import numpy as np
import pytest

import dualgrad as dg
from dualgrad import cli

PNGS = [f"{name}_{kind}.png" for name in ("linear_regression", "logistic_regression",
                                          "deep_network") for kind in ("loss", "fit")]
SKIP_MESSAGE = "matplotlib is not installed, so no pictures"


def _assert_blog_lines(out: str) -> None:
    """The lines the blog prints, for the three experiments in order."""
    order = ["== Linear regression ==", "m 3.0 m prime 3.0", "b -2.0 b prime -2.0",
             "MSE autodiff", "MSE truth", "== Logistic regression ==", "Log loss autodiff",
             "Log loss truth", '== The 2-2-1 "deep" network ==', "Iter/Log loss:  0 ",
             "Iter/Log loss:  95 ", "Iter/Log loss:  99 ", "parameters: 7"]
    at = 0
    for text in order:
        found = out.find(text, at)
        assert found >= 0, f"{text!r} missing or out of order in:\n{out}"
        at = found


# ---- demo -------------------------------------------------------------------------------------


def test_demo_without_matplotlib_prints_the_blog_and_skips_pictures(tmp_path, monkeypatch,
                                                                     capsys):
    """Without matplotlib, `dualgrad demo` prints the blog's lines, says three times that it
    skips the pictures, and writes nothing."""
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    out_dir = tmp_path / "demo"
    assert cli.main(["demo", "--out", str(out_dir)]) == 0
    out, err = capsys.readouterr()
    _assert_blog_lines(out)
    assert out.count(SKIP_MESSAGE) == 3
    assert not out_dir.exists()
    assert err == ""


def test_demo_with_matplotlib_saves_six_pngs(tmp_path, capsys):
    """With matplotlib, `dualgrad demo --out DIR` prints the blog's lines and saves six PNGs."""
    assert cli.main(["demo", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    _assert_blog_lines(out)
    assert SKIP_MESSAGE not in out
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(PNGS)
    for name in PNGS:
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_demo_no_plots_saves_nothing_and_says_nothing_of_matplotlib(tmp_path, capsys):
    """`dualgrad demo --no-plots` runs the experiments without any picture or message."""
    assert cli.main(["demo", "--out", str(tmp_path / "demo"), "--no-plots"]) == 0
    out = capsys.readouterr().out
    _assert_blog_lines(out)
    assert "matplotlib" not in out and "saved" not in out
    assert not (tmp_path / "demo").exists()


def test_demo_regression_reaches_the_line(tmp_path, capsys):
    """The demo's regression prints m and b within 0.01 of 3 and -2."""
    cli.main(["demo", "--no-plots"])
    out = capsys.readouterr().out
    m = float(re.search(r"^m 3\.0 m prime (\S+)$", out, re.MULTILINE).group(1))
    b = float(re.search(r"^b -2\.0 b prime (\S+)$", out, re.MULTILINE).group(1))
    assert abs(m - 3) <= 0.01 and abs(b + 2) <= 0.01


# ---- train ------------------------------------------------------------------------------------

CONFIG = """\
seed = 0
loss = "mse"

[optimizer]
type = "sgd"
lr = 0.1

[[layers]]
type = "dense"
units = 1

[fit]
epochs = 400
target = "target"
"""


def _linear_csv(path: Path, n: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """A CSV with a header, the target in the FIRST column: target = 2 x1 - x2 + 0.5."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 2))
    y = 2 * x[:, 0] - x[:, 1] + 0.5
    rows = [f"{t:.17g},{a:.17g},{b:.17g}" for t, (a, b) in zip(y, x, strict=True)]
    lines = ["target,x1,x2", *rows]
    path.write_text("\n".join(lines) + "\n")
    return x, y


def test_train_fits_and_saves_a_model_that_load_reads(tmp_path, capsys):
    """`dualgrad train CFG --data CSV --out FILE` uses [fit] (target by name, epochs), prints the
    loss, and saves a model Model.load reads, fitted to the data."""
    cfg, data, out = tmp_path / "net.toml", tmp_path / "points.csv", tmp_path / "out.npz"
    cfg.write_text(CONFIG)
    x, y = _linear_csv(data)
    assert cli.main(["train", str(cfg), "--data", str(data), "--out", str(out),
                     "--quiet"]) == 0
    printed = capsys.readouterr().out
    match = re.search(r"trained 3 parameters for 400 epoch\(s\): loss (\S+) -> (\S+)", printed)
    assert match, printed
    assert float(match.group(2)) < 1e-6 < float(match.group(1))
    assert f"saved the model to {out}" in printed
    model = dg.Model.load(out)
    kernel, bias = model.get_weights()
    np.testing.assert_allclose(kernel[:, 0], [2.0, -1.0], atol=1e-4)
    np.testing.assert_allclose(bias, [0.5], atol=1e-4)
    np.testing.assert_allclose(model.predict(x)[:, 0], y, atol=1e-3)
    assert model.get_config() == {**dg.Model.from_toml(cfg).get_config(), "input_shape": [2]}


def test_train_defaults_to_the_last_column_and_config_named_output(tmp_path, capsys):
    """Without [fit] target the last column is the target; without --out the model goes
    beside the config with .npz; --epochs overrides [fit] epochs."""
    cfg, data = tmp_path / "line.toml", tmp_path / "data.csv"
    cfg.write_text(CONFIG.replace('target = "target"\n', ""))
    rng = np.random.default_rng(1)
    x = rng.normal(size=30)
    data.write_text("".join(f"{a:.17g},{3 * a - 2:.17g}\n" for a in x))
    assert cli.main(["train", str(cfg), "--data", str(data), "--epochs", "300"]) == 0
    assert "for 300 epoch(s)" in capsys.readouterr().out
    kernel, bias = dg.Model.load(tmp_path / "line.npz").get_weights()
    assert kernel[0, 0] == pytest.approx(3.0, abs=1e-3)
    assert bias[0] == pytest.approx(-2.0, abs=1e-3)


def test_read_csv_takes_the_target_by_name_or_number(tmp_path):
    """read_csv splits features from the target named in the header, or numbered from 0."""
    path = tmp_path / "d.csv"
    path.write_text("a, b ,c\n1,2,3\n4,5,6\n\n")
    x, y = cli.read_csv(path, "b")
    np.testing.assert_array_equal(x, [[1, 3], [4, 6]])
    np.testing.assert_array_equal(y, [2, 5])
    x, y = cli.read_csv(path, 0)
    np.testing.assert_array_equal(y, [1, 4])
    x, y = cli.read_csv(path, None)
    np.testing.assert_array_equal(y, [3, 6])


BAD_CSVS = {
    "non-number-cell": "target,x\n1,2\n0,abc\n",
    "ragged-row": "target,x\n1,2\n0,3,4\n",
    "missing-target-column": "y,x\n1,2\n0,3\n",
    "header-only": "target,x\n",
    "empty": "",
    "one-column": "target\n1\n0\n",
    "nan-cell": "target,x\n1,2\n0,nan\n",
    "target-out-of-range": None,
    "not-text": b"\xff\xfe\x00\x81garbage\n",
}


@pytest.mark.parametrize("case", list(BAD_CSVS))
def test_train_with_bad_csv_exits_2_with_one_line_error(tmp_path, capsys, case):
    """A bad CSV makes `dualgrad train` return status 2 with one `dualgrad: error:` line on
    stderr and no traceback, and saves nothing."""
    cfg, data, out = tmp_path / "net.toml", tmp_path / "bad.csv", tmp_path / "out.npz"
    config = CONFIG
    content = BAD_CSVS[case]
    if case == "target-out-of-range":
        config, content = CONFIG.replace('"target"', '"7"'), "target,x\n1,2\n0,3\n"
    cfg.write_text(config)
    if isinstance(content, bytes):
        data.write_bytes(content)
    else:
        data.write_text(content)
    assert cli.main(["train", str(cfg), "--data", str(data), "--out", str(out)]) == 2
    printed, err = capsys.readouterr()
    assert printed == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("dualgrad: error: ")
    assert "Traceback" not in err
    assert not out.exists()


@pytest.mark.parametrize(
    ("case", "config"),
    [
        ("missing-config", None),
        ("bad-toml", "layers = [\n"),
        ("unknown-fit-key", CONFIG + "lr = 3\n"),
        ("unknown-layer", CONFIG.replace('type = "dense"', 'type = "conv"')),
        ("bad-epochs", CONFIG.replace("epochs = 400", "epochs = 0")),
    ],
)
def test_train_with_bad_config_exits_2_with_one_line_error(tmp_path, capsys, case, config):
    """A missing or bad config makes `dualgrad train` return 2 with a one-line error."""
    cfg, data = tmp_path / "net.toml", tmp_path / "points.csv"
    if config is not None:
        cfg.write_text(config)
    _linear_csv(data)
    assert cli.main(["train", str(cfg), "--data", str(data), "--quiet"]) == 2
    _, err = capsys.readouterr()
    assert len(err.splitlines()) == 1 and err.startswith("dualgrad: error: "), err


def test_missing_data_file_exits_2(tmp_path, capsys):
    """A --data file that does not exist gives status 2 and a one-line error naming it."""
    cfg = tmp_path / "net.toml"
    cfg.write_text(CONFIG)
    assert cli.main(["train", str(cfg), "--data", str(tmp_path / "nope.csv")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("dualgrad: error: ") and "nope.csv" in err


def test_usage_errors_exit_2(capsys):
    """No subcommand, or train without --data, is an argparse usage error with status 2."""
    for argv in ([], ["train", "net.toml"], ["fly"]):
        with pytest.raises(SystemExit) as info:
            cli.main(argv)
        assert info.value.code == 2
    assert "usage: dualgrad" in capsys.readouterr().err


# ---- plugins ----------------------------------------------------------------------------------


def test_plugins_lists_the_builtin_plugin_and_its_names(capsys):
    """`dualgrad plugins` lists the builtin plugin as active with its layers, losses,
    optimizers and primitives."""
    assert cli.main(["plugins"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^builtin  \(dualgrad \S+\)  active$", out, re.MULTILINE), out
    assert "    layers: dense" in out
    assert "    losses: mse, logloss" in out
    assert "    optimizers: sgd, adam" in out
    primitives = re.search(r"^    primitives: (.*)$", out, re.MULTILINE).group(1).split(", ")
    assert {"exp", "log", "sigmoid", "tanh", "matmul", "softplus"} <= set(primitives)


def _console_script() -> str:
    name = "dualgrad.exe" if sys.platform == "win32" else "dualgrad"
    path = Path(sysconfig.get_path("scripts")) / name
    if not path.exists():
        pytest.fail(f"the dualgrad console script is not installed at {path}")
    return str(path)


def test_installed_console_script_lists_plugins():
    """The installed `dualgrad` entry point runs: `dualgrad plugins` exits 0 listing builtin."""
    done = subprocess.run([_console_script(), "plugins"], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "builtin" in done.stdout and "layers: dense" in done.stdout
    assert done.stderr == ""


def test_installed_console_script_exits_2_on_bad_data(tmp_path):
    """The installed `dualgrad train` exits with status 2 and a one-line error on a bad CSV."""
    cfg, data = tmp_path / "net.toml", tmp_path / "bad.csv"
    cfg.write_text(CONFIG)
    data.write_text("target,x\n1,2\n0,abc\n")
    done = subprocess.run([_console_script(), "train", str(cfg), "--data", str(data)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2
    assert done.stderr.startswith("dualgrad: error: ")
    assert len(done.stderr.splitlines()) == 1 and "Traceback" not in done.stderr
    assert "'abc'" in done.stderr
