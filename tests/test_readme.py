"""The README: its Python examples run, and its commands are the ones CI and the CLI know."""

from __future__ import annotations

import configparser
import re
import shlex
import sys
from pathlib import Path

import pytest

import dualgrad as dg
from dualgrad import cli

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _blocks(language: str, text: str = README) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", text, re.MULTILINE | re.DOTALL)


def _section(title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", README,
                      re.MULTILINE | re.DOTALL)
    assert match, f"README has no section {title!r}"
    return match.group(1)


def _commands(block: str) -> list[str]:
    """The command on each line of a shell block, without its trailing comment."""
    return [line.split("  #")[0].strip() for line in block.splitlines() if line.strip()]


PYTHON_BLOCKS = _blocks("python")


def test_readme_has_python_examples():
    """The README carries at least the dual-number, transformation, model and plugin blocks."""
    assert len(PYTHON_BLOCKS) >= 4


@pytest.mark.parametrize("index", range(len(PYTHON_BLOCKS)))
def test_readme_python_block_runs(index):
    """Each ```python block of the README runs in a fresh namespace (its asserts hold)."""
    code = compile(PYTHON_BLOCKS[index], f"README.md python block {index}", "exec")
    exec(code, {"__name__": f"readme_block_{index}"})


def test_two_commands_section_has_the_demo_and_the_tests():
    """'Two commands' gives exactly two: install with plots then `dualgrad demo`, and install
    for tests then pytest."""
    blocks = _blocks("sh", _section("Two commands"))
    assert len(blocks) == 1
    commands = _commands(blocks[0])
    assert commands == ['pip install -e ".[plot]" && dualgrad demo',
                        'pip install -e ".[test]" && python -m pytest']


def test_readme_test_command_is_what_ci_runs():
    """The README's test command line appears, as is, among the commands .ci/run runs."""
    test_command = _commands(_blocks("sh", _section("Two commands"))[0])[1]
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()
                if line.strip() and not line.lstrip().startswith("#")]
    assert test_command in ci_lines


def test_readme_extras_exist_in_pyproject():
    """The extras the README installs (plot, test) are declared in pyproject.toml."""
    with open(ROOT / "pyproject.toml", "rb") as f:
        extras = tomllib.load(f)["project"]["optional-dependencies"]
    named = set(re.findall(r'pip install -e "\.\[(\w+)\]"', README))
    assert named == {"plot", "test"}
    assert named <= set(extras)


def test_readme_dualgrad_commands_parse():
    """Every `dualgrad ...` command the README shows is accepted by the CLI's parser."""
    shown = [cmd for block in _blocks("sh") for line in _commands(block)
             for cmd in line.split("&&") if cmd.strip().startswith("dualgrad ")]
    assert {cmd.split()[1] for cmd in shown} == {"demo", "train", "evaluate", "predict",
                                                  "plugins"}
    parser = cli.build_parser()
    for cmd in shown:
        args = parser.parse_args(shlex.split(cmd)[1:])
        assert callable(args.run)


def test_test_extra_installs_what_the_plot_tests_need():
    """The test extra holds the plot extra's requirements, so the tests that draw PNGs run
    wherever the suite does instead of being skipped."""
    with open(ROOT / "pyproject.toml", "rb") as f:
        extras = tomllib.load(f)["project"]["optional-dependencies"]
    assert set(extras["plot"]) <= set(extras["test"])


def _ci_lines() -> list[str]:
    return [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def test_ci_runs_the_plugin_suite_and_the_checks_after_the_tests():
    """.ci/run stops at the first failure, and after the README's test command runs the
    plugin's suite as the README shows it, ruff and mypy."""
    lines = _ci_lines()
    assert "set -euo pipefail" in lines
    plugin = _commands(_blocks("sh", _section("Testing"))[0])[0]
    install, run = (part.strip() for part in plugin.split("&&"))
    test_command = _commands(_blocks("sh", _section("Two commands"))[0])[1]
    order = [test_command, install, run, "mypy"]
    assert [lines.index(line) for line in order] == sorted(lines.index(line) for line in order)
    assert any(line.startswith("ruff check") and "plugins" in line for line in lines)


def test_tox_fails_on_a_missing_interpreter_by_default():
    """tox.ini does not skip missing interpreters: a run without py310 fails unless told."""
    tox = configparser.ConfigParser()
    tox.read(ROOT / "tox.ini")
    assert tox.getboolean("tox", "skip_missing_interpreters", fallback=False) is False


# ---- the list of NumPy functions dualgrad differentiates ----------------------------------------

# the README writes these ufuncs as Python's operators
_OPERATORS = {"add": "+", "subtract": "-", "multiply": "*", "divide": "/", "power": "**",
              "remainder": "%"}


def _dispatched_names():
    """The names of every NumPy function a Variable answers: the dispatch tables and the
    functions that built-in primitives implement."""
    import numpy as np

    from dualgrad import _dispatch
    from dualgrad._registry import registry

    functions = list(_dispatch._FUNCTIONS) + list(_dispatch._UFUNCS)
    functions += [e.obj.implements for e in registry().entries("primitive")
                  if e.plugin == "builtin" and e.obj.implements is not None]
    names = {_OPERATORS.get(f.__name__, f.__name__) for f in functions}
    # NumPy's aliases: np.round is around, np.mod is remainder, np.abs is absolute
    assert np.mod is np.remainder and np.abs is np.absolute
    return names


def _listed_names():
    section = _section("What NumPy code is differentiated").split("### ")[0]
    names = set()
    for quoted in re.findall(r"`([^`]+)`", section):
        names.update(quoted.replace("linalg.", "").split())
    return names


def test_readme_lists_every_function_dualgrad_differentiates():
    """Every NumPy function a Variable answers is named in the README's list, so the list
    cannot fall behind the dispatch table or the built-in primitives."""
    missing = sorted(_dispatched_names() - _listed_names())
    assert not missing, f"add to the README's 'What NumPy code is differentiated': {missing}"


def test_readme_list_names_no_function_dualgrad_refuses():
    """Every plain name in the README's bulleted list of functions is one a Variable answers."""
    section = _section("What NumPy code is differentiated")
    bullets = "\n".join(re.findall(r"^(?:- |  ).*$", section, re.MULTILINE))
    words = {w for quoted in re.findall(r"`([^`]+)`", bullets)
             for w in quoted.replace("linalg.", "").split() if re.fullmatch(r"[a-z_0-9]+", w)}
    # NumPy's other names of listed functions: np.mod, np.abs, np.conj
    extra = sorted(words - _dispatched_names() - set(_OPERATORS) - {"linalg", "mod", "abs", "conj"})
    assert not extra, f"the README lists functions dualgrad does not answer: {extra}"


def test_readme_toml_example_builds_a_model():
    """The README's example TOML is a model config with a [fit] table the CLI accepts."""
    (block,) = [b for b in _blocks("toml") if "[[layers]]" in b]
    config = tomllib.loads(block)
    fit = config.pop("fit")
    assert set(fit) <= set(cli._FIT_KEYS)
    assert cli._early_stopping(fit["early_stopping"], True) is not None
    model = dg.Model.from_config({**config, "metrics": fit["metrics"]})
    assert model.get_config()["metrics"] == [{"type": "accuracy"}]
