"""The ``dualgrad`` command: ``demo``, ``train``, ``predict``, ``evaluate`` and ``plugins``."""

from __future__ import annotations

import argparse
import csv
import io
import os
import reprlib
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from . import _registry
from ._errors import ConfigError, DataError, DualgradError
from ._toml import read_text, read_toml
from .callbacks import EarlyStopping
from .model import Model

_FIT_KEYS = ("epochs", "batch_size", "shuffle", "target", "validation_split", "metrics",
             "early_stopping", "standardize")
_EARLY_STOPPING_KEYS = ("monitor", "patience", "min_delta", "restore_best_weights", "mode")


def _demo(args: argparse.Namespace) -> int:
    from .examples import deep_network, linear_regression, logistic_regression

    out_dir = None if args.no_plots else args.out
    if out_dir is not None and Path(out_dir).exists() and not Path(out_dir).is_dir():
        raise DataError(f"--out {out_dir} is a file; give a folder for the pictures")
    for title, module in (("Linear regression", linear_regression),
                          ("Logistic regression", logistic_regression),
                          ('The 2-2-1 "deep" network', deep_network)):
        print(f"== {title} ==")
        module.main(seed=args.seed, out_dir=out_dir)
        print()
    return 0


def read_csv(path: str | Path, target: str | int | None) -> tuple[np.ndarray, np.ndarray]:
    """Features and target from a UTF-8 CSV file of numbers, with or without a header row.

    The first non-blank row is a header when none of its cells is a number; any other row is
    data, and every cell of a data row must be a finite number. A byte-order mark is dropped.
    Blank rows are skipped. A bad cell is reported by row and column numbered from 1, as a
    spreadsheet shows them. `target` names (or numbers, from 0) the target column; None takes
    the last one.
    """
    header, data = read_table(path)
    width = data.shape[1]
    if width < 2:
        raise DataError(f"{path} needs at least two columns, features and a target; it has "
                        f"{width}")
    col = _target_column(path, target, header, width)
    return np.delete(data, col, axis=1), data[:, col]


def read_table(path: str | Path) -> tuple[list[str] | None, np.ndarray]:
    """The header (None without one) and the numbers of a CSV file read as `read_csv` does."""
    text = read_text(path, "data file")
    header: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        for number, row in enumerate(reader, start=1):
            if not any(cell.strip() for cell in row):
                continue
            if not rows and header is None and not any(_is_numeric(cell) for cell in row):
                header = [cell.strip() for cell in row]
                continue
            rows.append((number, row))
    except csv.Error as exc:
        if "\x00" in text:  # Python 3.10's csv refuses NUL itself: say where, as 3.11's cells do
            at = text.index("\x00")
            line_start = text.rfind("\n", 0, at) + 1
            line = text[line_start:text.find("\n", at) if "\n" in text[at:] else len(text)]
            line_no, column = text.count("\n", 0, at) + 1, text.count(",", line_start, at) + 1
            cell = line.split(",")[column - 1]
            raise DataError(f"{path}, row {line_no}, column {column}: holds a NUL byte "
                            f"({_show(cell)}); the file is damaged or not a text CSV") from None
        raise DataError(f"{path}, row {reader.line_num}: not readable as CSV ({exc})") from None
    if not rows:
        raise DataError(f"{path} has a header but no data rows" if header is not None
                        else f"{path} has no rows")
    first = rows[0][0]
    width = len(header) if header is not None else len(rows[0][1])
    data = np.empty((len(rows), width))
    for i, (number, row) in enumerate(rows):
        if len(row) != width:
            first_name = "the header" if header is not None else f"row {first}"
            raise DataError(f"{path}, row {number}: {len(row)} cell(s), but {first_name} has "
                            f"{width}; every row needs the same number of cells")
        for j, cell in enumerate(row):
            data[i, j] = _number(cell, f"{path}, row {number}, column {j + 1}",
                                 first_row=header is None and i == 0)
    return header, data


def _is_numeric(cell: str) -> bool:
    """Whether `cell` reads as a number, finite or not: such a cell makes its row data."""
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _number(cell: str, where: str, first_row: bool) -> float:
    """The finite number in `cell`, or a DataError saying what is wrong with it."""
    try:
        value = float(cell)
    except ValueError:
        if not cell.strip():
            why = "the cell is empty; every cell of a data row needs a number: fill it in or " \
                "delete the row"
        elif "\x00" in cell:
            why = f"holds a NUL byte ({_show(cell)}); the file is damaged or not a text CSV"
        else:
            why = f"{_show(cell)} is not a number"
            if first_row:
                why += " (a first row is a header only when none of its cells is a number)"
        raise DataError(f"{where}: {why}") from None
    if not np.isfinite(value):
        raise DataError(f"{where}: {_show(cell)} is not a finite number; fill in a real value "
                        "or delete the row")
    return value


def _target_column(path: str | Path, target: object, header: list[str] | None,
                   width: int) -> int:
    """The index of the target column, from its name, its number (from 0) or None (the last)."""
    if target is None:
        return width - 1
    if isinstance(target, str) and target.isascii() and target.isdigit():
        target = int(target)
    if isinstance(target, int) and not isinstance(target, bool):
        if not 0 <= target < width:
            raise DataError(f"{path} has {width} columns, numbered 0 to {width - 1}; there is no "
                            f"column {target}")
        return target
    if not isinstance(target, str):
        raise DataError(f"[fit] target must be a column name or a column number from 0, got "
                        f"{_show(target)}")
    if header is None:
        raise DataError(f"{path} has no header row (its first row holds numbers), so no column "
                        f"is named {_show(target)}; give the target's number from 0 instead")
    found = [j for j, name in enumerate(header) if name == target]
    if not found:
        raise DataError(f"{path} has no column {_show(target)}; its columns are "
                        f"{', '.join(header)}")
    if len(found) > 1:
        raise DataError(f"{path} has {len(found)} columns named {_show(target)} (columns "
                        f"{', '.join(str(j + 1) for j in found)}); rename one, or give the "
                        "target's number from 0")
    return found[0]


def _show(value: object) -> str:
    """A short repr of `value` for a one-line message, whatever its size."""
    return reprlib.repr(value)


def _output_path(args: argparse.Namespace) -> Path:
    """Where `train` saves the model; checked before training so no run is lost to a bad path."""
    out = Path(args.out) if args.out else Path(args.config).with_suffix(".npz")
    if out.is_dir():
        raise DataError(f"cannot save the model to {out}: it is a folder; give a file name")
    folder = out.parent
    if not folder.is_dir():
        raise DataError(f"cannot save the model to {out}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise DataError(f"cannot save the model to {out}: the folder {folder} is not writable")
    for given, what in ((args.config, "config"), (args.data, "data file")):
        if out.exists() and Path(given).exists() and out.samefile(given):
            raise DataError(f"cannot save the model to {out}: it is the {what}; give --out")
    return out


def _train(args: argparse.Namespace) -> int:
    config = read_toml(args.config)
    fit = config.pop("fit", {})
    if not isinstance(fit, dict):
        raise ConfigError(f"{args.config}: 'fit' must be a table ([fit]), got {_show(fit)}")
    fit = dict(fit)
    unknown = sorted(set(fit) - set(_FIT_KEYS))
    if unknown:
        raise ConfigError(f"the [fit] table has no key {', '.join(map(_show, unknown))}; its "
                          f"keys are {', '.join(_FIT_KEYS)}")
    if "shuffle" in fit and not isinstance(fit["shuffle"], bool):
        raise ConfigError(f"[fit] shuffle must be true or false, got {_show(fit['shuffle'])}")
    if "metrics" in fit:
        config["metrics"] = [*config.get("metrics", []), *_listed(fit.pop("metrics"))]
    stopping = _early_stopping(fit.pop("early_stopping", None), "validation_split" in fit)
    standardize = fit.pop("standardize", False)
    if not isinstance(standardize, bool):
        raise ConfigError(f"[fit] standardize must be true or false, got {_show(standardize)}")
    if standardize and isinstance(config.get("layers"), list):
        # a first layer that learns each feature's mean and variance from the data
        config["layers"] = [{"type": "normalization"}, *config["layers"]]
    try:
        model = Model.from_config(config)
    except ConfigError as exc:
        raise ConfigError(f"{args.config}: {exc}") from None
    out = _output_path(args)
    x, y = read_csv(args.data, fit.pop("target", None))
    if args.epochs is not None:
        fit["epochs"] = args.epochs
    callbacks = [stopping] if stopping is not None else []
    history = model.fit(x, y, verbose=not args.quiet, callbacks=callbacks, **fit)
    try:
        model.save(out)
    except OSError as exc:
        raise DataError(f"cannot save the model to {out}: {exc.strerror or exc}") from None
    losses = history.history["loss"]
    print(f"trained {model.num_params} parameters for {len(losses)} epoch(s): loss "
          f"{losses[0]:.6g} -> {losses[-1]:.6g}")
    print(f"saved the model to {out}")
    return 0


def _listed(metrics: object) -> list[object]:
    if not isinstance(metrics, list):
        raise ConfigError(f"[fit] metrics must be a list of names, as metrics = [\"accuracy\"]; "
                          f"got {_show(metrics)}")
    return metrics


def _early_stopping(table: object, validating: bool) -> EarlyStopping | None:
    """The [fit] early_stopping option: true (watch val_loss with validation_split, else
    loss), false, or a table of EarlyStopping's options."""
    if table is None or table is False:
        return None
    if table is True:
        table = {}
    if not isinstance(table, dict):
        raise ConfigError(f"[fit] early_stopping must be true, false or a table of "
                          f"{', '.join(_EARLY_STOPPING_KEYS)}; got {_show(table)}")
    unknown = sorted(set(table) - set(_EARLY_STOPPING_KEYS))
    if unknown:
        raise ConfigError(f"[fit] early_stopping has no option {', '.join(map(_show, unknown))}"
                          f"; its options are {', '.join(_EARLY_STOPPING_KEYS)}")
    options = {"monitor": "val_loss" if validating else "loss", **table}
    try:
        return EarlyStopping(**options)
    except TypeError as exc:
        raise ConfigError(f"[fit] early_stopping: {exc}") from None


def _load_model(path: str) -> Model:
    return Model.load(path)


def _predict(args: argparse.Namespace) -> int:
    model = _load_model(args.model)
    header, data = read_table(args.data)
    takes = model.get_config()["input_shape"]
    width = data.shape[1]
    if [width] != takes:
        if [width - 1] != takes:
            raise DataError(f"{args.data} has {width} columns; the model takes {takes[0]} "
                            "features (and ignores one more, a target)")
        col = _target_column(args.data, args.target, header, width)
        data = np.delete(data, col, axis=1)
    outputs = model.predict(data).reshape(data.shape[0], -1)
    names = ["prediction"] if outputs.shape[1] == 1 else \
        [f"output_{k}" for k in range(outputs.shape[1])]
    lines = [",".join(names)] + [",".join(f"{v:.17g}" for v in row) for row in outputs]
    text = "\n".join(lines) + "\n"
    if args.out:
        try:
            Path(args.out).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise DataError(f"cannot write {args.out}: {exc.strerror or exc}") from None
        print(f"wrote {outputs.shape[0]} prediction(s) to {args.out}")
    else:
        sys.stdout.write(text)
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    model = _load_model(args.model)
    x, y = read_csv(args.data, args.target)
    for name, value in model.evaluate(x, y, return_dict=True).items():
        print(f"{name}: {value:.6g}")
    return 0


def _plugins(args: argparse.Namespace) -> int:
    reg = _registry.registry()
    for info in reg.plugins:
        origin = f"{info.distribution} {info.version}" if info.distribution else "-"
        print(f"{info.name}  ({origin})  {info.status}")
        if info.error:
            print(f"    error: {info.error}")
        for text in info.warnings:
            print(f"    warning: {text}")
        for kind, names in info.registered.items():
            print(f"    {reg.kinds[kind].plural}: {', '.join(names)}")
    return 0


def _seed(text: str) -> int:
    """A seed for NumPy's generators: a non-negative int (argparse reports anything else)."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"a seed is an int >= 0, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dualgrad", description="Forward-mode automatic differentiation for NumPy.")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="run the blog's three experiments on data made here")
    demo.add_argument("--out", default="dualgrad-demo", help="folder for the PNG pictures")
    demo.add_argument("--seed", type=_seed, default=0,
                      help="seed of the data and the weights (an int >= 0)")
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

    predict = sub.add_parser("predict", help="a saved model's outputs for the rows of a CSV")
    predict.add_argument("model", help="a model file written by train or Model.save")
    predict.add_argument("--data", required=True, help="a CSV of the features (a target "
                         "column, if present, is left out)")
    predict.add_argument("--target", help="the target column to leave out (default: last)")
    predict.add_argument("--out", help="write the predictions to this CSV (default: print)")
    predict.set_defaults(run=_predict)

    evaluate = sub.add_parser("evaluate", help="a saved model's loss and metrics on a CSV")
    evaluate.add_argument("model", help="a model file written by train or Model.save")
    evaluate.add_argument("--data", required=True, help="a CSV of features and target")
    evaluate.add_argument("--target", help="the target column (default: the last)")
    evaluate.set_defaults(run=_evaluate)

    plugins = sub.add_parser("plugins", help="list the plugins and what each registered")
    plugins.set_defaults(run=_plugins)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; errors a user can fix print one line and exit with status 2."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except KeyboardInterrupt:
        print("dualgrad: interrupted", file=sys.stderr)
        return 130
    except (DualgradError, OSError, MemoryError) as exc:
        print(f"dualgrad: error: {_user_message(exc)}", file=sys.stderr)
        return 2


def _user_message(exc: BaseException) -> str:
    """`exc` as one line of text for a user."""
    if isinstance(exc, OSError) and exc.strerror:
        text = f"{exc.filename}: {exc.strerror}" if exc.filename else exc.strerror
    elif isinstance(exc, MemoryError):
        text = f"not enough memory ({exc or 'no detail'}); use fewer or smaller layers or less data"
    else:
        text = str(exc)
    return " ".join(text.split())


if __name__ == "__main__":
    sys.exit(main())
