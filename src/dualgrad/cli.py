"""The ``dualgrad`` command: ``demo``, ``train`` and ``plugins``."""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from . import _registry
from ._errors import DataError, DualgradError
from ._toml import tomllib
from .model import Model

_FIT_KEYS = ("epochs", "batch_size", "shuffle", "target")


def _demo(args: argparse.Namespace) -> int:
    from .examples import deep_network, linear_regression, logistic_regression

    out_dir = None if args.no_plots else args.out
    for title, module in (("Linear regression", linear_regression),
                          ("Logistic regression", logistic_regression),
                          ('The 2-2-1 "deep" network', deep_network)):
        print(f"== {title} ==")
        module.main(seed=args.seed, out_dir=out_dir)
        print()
    return 0


def read_csv(path: str | Path, target: str | int | None) -> tuple[np.ndarray, np.ndarray]:
    """Features and target from a CSV file of numbers, with or without a header row.

    `target` names (or numbers, from 0) the target column; None takes the last one.
    """
    try:
        with open(path, newline="") as f:
            rows = [row for row in csv.reader(f) if row and any(cell.strip() for cell in row)]
    except (UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"{path} is not a text CSV file ({exc})") from None
    if not rows:
        raise DataError(f"{path} has no rows")
    header: list[str] | None = None
    try:
        [float(cell) for cell in rows[0]]
    except ValueError:
        header, rows = [cell.strip() for cell in rows[0]], rows[1:]
    if not rows:
        raise DataError(f"{path} has a header but no data rows")
    width = len(rows[0])
    if width < 2:
        raise DataError(f"{path} needs at least two columns: features and a target")
    data = np.empty((len(rows), width))
    for i, row in enumerate(rows):
        if len(row) != width:
            raise DataError(f"{path}, data row {i + 1}: {len(row)} fields, expected {width}")
        for j, cell in enumerate(row):
            try:
                data[i, j] = float(cell)
            except ValueError:
                raise DataError(f"{path}, data row {i + 1}, column {j + 1}: {cell!r} is not a "
                                "number") from None
    if target is None:
        col = width - 1
    elif isinstance(target, int) or (isinstance(target, str) and target.isdigit()):
        col = int(target)
    elif header is not None and target in header:
        col = header.index(target)
    else:
        raise DataError(f"{path} has no column {target!r}"
                        + (f"; its columns are {', '.join(header)}" if header else ""))
    if not 0 <= col < width:
        raise DataError(f"{path} has {width} columns; there is no column {col}")
    return np.delete(data, col, axis=1), data[:, col]


def _train(args: argparse.Namespace) -> int:
    with open(args.config, "rb") as f:
        try:
            config = tomllib.load(f)
        except tomllib.TOMLDecodeError as exc:
            raise DataError(f"{args.config} is not valid TOML: {exc}") from exc
    fit = config.get("fit", {})
    if not isinstance(fit, dict):
        raise DataError(f"{args.config}: 'fit' must be a table ([fit]), got {fit!r}")
    fit = dict(fit)
    unknown = sorted(set(fit) - set(_FIT_KEYS))
    if unknown:
        raise DataError(f"the [fit] table has no key {', '.join(map(repr, unknown))}; its keys "
                        f"are {', '.join(_FIT_KEYS)}")
    if "shuffle" in fit and not isinstance(fit["shuffle"], bool):
        raise DataError(f"[fit] shuffle must be true or false, got {fit['shuffle']!r}")
    model = Model.from_toml(args.config)
    x, y = read_csv(args.data, fit.pop("target", None))
    if args.epochs is not None:
        fit["epochs"] = args.epochs
    history = model.fit(x, y, verbose=not args.quiet, **fit)
    out = Path(args.out) if args.out else Path(args.config).with_suffix(".npz")
    model.save(out)
    losses = history.history["loss"]
    print(f"trained {model.num_params} parameters for {len(losses)} epoch(s): loss "
          f"{losses[0]:.6g} -> {losses[-1]:.6g}")
    print(f"saved the model to {out}")
    return 0


def _plugins(args: argparse.Namespace) -> int:
    for info in _registry.registry().plugins:
        origin = f"{info.distribution} {info.version}" if info.distribution else "-"
        print(f"{info.name}  ({origin})  {info.status}")
        if info.error:
            print(f"    error: {info.error}")
        for text in info.warnings:
            print(f"    warning: {text}")
        for kind, names in info.registered.items():
            print(f"    {_registry.PLURALS[kind]}: {', '.join(names)}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dualgrad", description="Forward-mode automatic differentiation for NumPy.")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="run the blog's three experiments on data made here")
    demo.add_argument("--out", default="dualgrad-demo", help="folder for the PNG pictures")
    demo.add_argument("--seed", type=int, default=0, help="seed of the data and the weights")
    demo.add_argument("--no-plots", action="store_true", help="skip the pictures")
    demo.set_defaults(run=_demo)

    train = sub.add_parser("train", help="train a model from a TOML config on a CSV file")
    train.add_argument("config", help="the model's TOML config (with an optional [fit] table)")
    train.add_argument("--data", required=True, help="a CSV of numbers; the target is the "
                       "last column unless [fit] target says otherwise")
    train.add_argument("--out", help="where to save the model (default: CONFIG with .npz)")
    train.add_argument("--epochs", type=int, help="override [fit] epochs")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.set_defaults(run=_train)

    plugins = sub.add_parser("plugins", help="list the plugins and what each registered")
    plugins.set_defaults(run=_plugins)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; errors a user can fix print one line and exit with status 2."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except (DualgradError, OSError) as exc:
        print(f"dualgrad: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
