"""`dualgrad train` reads the CSV and TOML files people actually have, or says in one line why not.

A CSV's first row is a header only when none of its cells is a number; a byte-order mark is
dropped; a bad cell in any row, the first included, is named by row and column counted from 1.
Every user error prints one `dualgrad: error:` line and exits with status 2, before any training
when it can be known then.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import numpy as np
import pytest

import dualgrad as dg
from dualgrad import cli

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
epochs = 3
"""

BOM = b"\xef\xbb\xbf"


def run(tmp_path: Path, csv: bytes, config: str | bytes = CONFIG,
        *extra: str) -> tuple[int, Path]:
    """`dualgrad train` on the given CSV bytes and config; its status and the output path."""
    cfg, data, out = tmp_path / "net.toml", tmp_path / "data.csv", tmp_path / "out.npz"
    if isinstance(config, str):
        config = config.encode()
    cfg.write_bytes(config)
    data.write_bytes(csv)
    return cli.main(["train", str(cfg), "--data", str(data), "--out", str(out), "--quiet",
                     *extra]), out


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    """The single `dualgrad: error:` line on stderr (nothing on stdout), without its prefix."""
    printed, err = capsys.readouterr()
    assert printed == "", printed
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("dualgrad: error: "), err
    return lines[0].removeprefix("dualgrad: error: ")


def write(tmp_path: Path, content: bytes) -> Path:
    path = tmp_path / "data.csv"
    path.write_bytes(content)
    return path


# ---- CSV: what is read --------------------------------------------------------------------------


def test_bom_before_a_header_is_dropped_so_the_first_column_is_found_by_name(tmp_path):
    """A UTF-8 BOM before a header never becomes part of the first column's name."""
    path = write(tmp_path, BOM + b"target,x\n1,2\n3,4\n")
    x, y = cli.read_csv(path, "target")
    np.testing.assert_array_equal(y, [1, 3])
    np.testing.assert_array_equal(x, [[2], [4]])


def test_bom_before_data_keeps_the_first_row(tmp_path):
    """A UTF-8 BOM before a first row of numbers leaves that row data, not a header."""
    x, y = cli.read_csv(write(tmp_path, BOM + b"1,2\n3,4\n5,6\n"), None)
    np.testing.assert_array_equal(x, [[1], [3], [5]])
    np.testing.assert_array_equal(y, [2, 4, 6])


def test_train_on_a_bom_csv_uses_every_row(tmp_path, capsys):
    """`dualgrad train` on a spreadsheet's 'CSV UTF-8' without a header trains on all rows:
    the first row's point is fitted too."""
    rows = b"".join(b"%d,%d\n" % (a, 2 * a + 1) for a in range(-3, 4))
    status, out = run(tmp_path, BOM + b"100,201\n" + rows,
                      CONFIG.replace("epochs = 3", "epochs = 1").replace("lr = 0.1", "lr = 1e-5"),
                      "--epochs", "1")
    assert status == 0
    # the first epoch's loss, printed to 6 digits, is over all 8 rows: row 1 dominates it
    first_loss = float(capsys.readouterr().out.split("loss ")[1].split(" ")[0])
    model = dg.Model.from_toml(tmp_path / "net.toml")
    x = np.array([[100.0], *[[a] for a in range(-3, 4)]])
    y = 2 * x[:, 0] + 1
    model.build((1,))
    assert first_loss == pytest.approx(model.evaluate(x, y), rel=1e-5)
    assert out.exists()


def test_windows_line_endings_and_blank_rows_are_read(tmp_path):
    """CRLF line endings, blank rows and rows of empty cells (as spreadsheets export) read as
    plain rows; a header is still recognised."""
    x, y = cli.read_csv(write(tmp_path, BOM + b"a,b\r\n\r\n1,2\r\n,\r\n3,4\r\n"), "b")
    np.testing.assert_array_equal(x, [[1], [3]])
    np.testing.assert_array_equal(y, [2, 4])


def test_header_is_a_first_row_without_any_number(tmp_path):
    """A first row with one number among names is data, so its names are reported as bad cells
    with the header rule in the message."""
    with pytest.raises(dg.DataError, match=r"row 1, column 1: 'x1' is not a number.*header"):
        cli.read_csv(write(tmp_path, b"x1,2019,y\n1,2,3\n"), None)


# ---- CSV: what is refused, by row and column ---------------------------------------------------

BAD_CSVS = {
    # name: (content, a phrase the one-line error must hold)
    "empty-cell-first-row": (b"1,\n3,4\n", "row 1, column 2: the cell is empty"),
    "empty-cell-later-row": (b"a,b\n1,2\n3,\n", "row 3, column 2: the cell is empty"),
    "typo-first-row": (b"1,2x\n3,4\n", "row 1, column 2: '2x' is not a number"),
    "typo-after-bom": (BOM + b"1,2x\n3,4\n", "row 1, column 2: '2x' is not a number"),
    "nul-byte-first-row": (b"1,2\x003\n3,4\n", "row 1, column 2: holds a NUL byte"),
    "nul-byte-alone": (b"1,\x00\n3,4\n", "row 1, column 2: holds a NUL byte"),
    "not-finite": (b"1,2\n3,nan\n", "row 2, column 2: 'nan' is not a finite number"),
    "overflow": (b"1,1e999\n3,4\n", "row 1, column 2: '1e999' is not a finite number"),
    "ragged-after-header": (b"a,b\n1,2\n\n3,4,5\n", "row 4: 3 cell(s), but the header has 2"),
    "ragged-without-header": (b"1,2\n3\n", "row 2: 1 cell(s), but row 1 has 2"),
    "empty-file": (b"", "has no rows"),
    "only-a-bom": (BOM, "has no rows"),
    "header-only": (b"target,x\r\n", "has a header but no data rows"),
    "one-column": (b"1\n2\n", "at least two columns"),
    "latin-1": (b"a,b\n1,2\xe9\n", "not UTF-8 text (byte 8 is"),
    "utf-16": ("a,b\n1,2\n".encode("utf-16"), "UTF-16"),
}


@pytest.mark.parametrize("case", list(BAD_CSVS))
def test_bad_csv_is_a_data_error_naming_the_cell(tmp_path, case):
    """read_csv raises DataError naming the row and column (or what is wrong with the file)."""
    content, phrase = BAD_CSVS[case]
    with pytest.raises(dg.DataError) as info:
        cli.read_csv(write(tmp_path, content), None)
    assert phrase in str(info.value)


@pytest.mark.parametrize("case", list(BAD_CSVS))
def test_train_on_a_bad_csv_exits_2_with_one_line_and_saves_nothing(tmp_path, capsys, case):
    """`dualgrad train` on a bad CSV exits 2 with one line naming the cell; nothing is saved."""
    content, phrase = BAD_CSVS[case]
    status, out = run(tmp_path, content)
    assert status == 2
    assert phrase in one_error_line(capsys)
    assert not out.exists()


@pytest.mark.parametrize(
    ("target", "phrase"),
    [("y", "no column 'y'; its columns are a, b"), (5, "there is no column 5"),
     (1.5, "column name or a column number"), (True, "column name or a column number")],
)
def test_bad_target_is_a_data_error(tmp_path, target, phrase):
    """A target that names or numbers no column, or is neither a name nor a number, is refused."""
    with pytest.raises(dg.DataError, match=phrase):
        cli.read_csv(write(tmp_path, b"a,b\n1,2\n"), target)


def test_target_by_name_without_a_header_says_there_is_none(tmp_path):
    """A target name for a CSV without a header says the file has no header row."""
    with pytest.raises(dg.DataError, match="no header row"):
        cli.read_csv(write(tmp_path, b"1,2\n3,4\n"), "b")


def test_a_name_two_columns_share_is_refused(tmp_path):
    """A target name that two header cells share names both columns instead of picking one."""
    with pytest.raises(dg.DataError, match=r"2 columns named 'b' \(columns 2, 3\)"):
        cli.read_csv(write(tmp_path, b"a,b,b\n1,2,3\n"), "b")


# ---- TOML ----------------------------------------------------------------------------------------

CSV = b"1,3\n2,5\n3,7\n"


@pytest.mark.parametrize(
    ("case", "config", "phrase"),
    [
        ("latin-1", CONFIG.replace('"mse"', '"ms\xe9"').encode("latin-1"), "not UTF-8 text"),
        ("utf-16", CONFIG.encode("utf-16"), "UTF-16"),
        ("nested-arrays", b"a = " + b"[" * 100_000 + b"]" * 100_000, "too deeply"),
        ("nested-tables", b"a = " + b"{b = " * 5_000 + b"1" + b"}" * 5_000, "too deeply"),
        ("huge-integer", b"seed = " + b"7" * 5_000, "not valid TOML"),
        ("nul", CONFIG.encode() + b"x = \"\x00\"\n", "not valid TOML"),
        ("fit-not-a-table", b"fit = 3\n" + CONFIG.split("[fit]")[0].encode(), "must be a table"),
        ("fit-target-list", CONFIG.encode() + b"target = [1]\n", "column name or a column"),
        ("model-config", CONFIG.replace("units = 1", "units = 0").encode(), "units"),
    ],
)
def test_bad_config_exits_2_with_one_line(tmp_path, capsys, case, config, phrase):
    """A config that is not UTF-8, nests thousands deep, or is otherwise malformed gives one
    `dualgrad: error:` line and status 2, never a traceback."""
    status, out = run(tmp_path, CSV, config)
    assert status == 2
    assert phrase in one_error_line(capsys)
    assert not out.exists()


def test_config_errors_are_config_errors(tmp_path):
    """A config file that cannot be read as TOML raises ConfigError (a ValueError) in-process."""
    (tmp_path / "net.toml").write_bytes(b"a = " + b"[" * 100_000)
    (tmp_path / "data.csv").write_bytes(CSV)
    args = cli.build_parser().parse_args(["train", str(tmp_path / "net.toml"), "--data",
                                          str(tmp_path / "data.csv")])
    with pytest.raises(dg.ConfigError, match="too deeply"):
        args.run(args)


def test_config_with_a_bom_is_read(tmp_path):
    """A UTF-8 config saved with a byte-order mark (as some editors do) trains."""
    status, out = run(tmp_path, CSV, BOM + CONFIG.encode())
    assert status == 0
    assert dg.Model.load(out).num_params == 2


# ---- files and folders --------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["config", "data"])
def test_a_folder_given_as_an_input_file_is_named(tmp_path, capsys, which):
    """A folder given as the config or the data file is a one-line error saying it is a folder."""
    cfg, data = tmp_path / "net.toml", tmp_path / "data.csv"
    cfg.write_text(CONFIG)
    data.write_bytes(CSV)
    folder = tmp_path / "folder"
    folder.mkdir()
    argv = ["train", str(folder if which == "config" else cfg),
            "--data", str(folder if which == "data" else data), "--out", str(tmp_path / "o.npz")]
    assert cli.main(argv) == 2
    assert "is a folder" in one_error_line(capsys)


@pytest.mark.parametrize("which", ["config", "data"])
def test_a_missing_input_file_is_named(tmp_path, capsys, which):
    """A config or data file that does not exist is a one-line error naming it."""
    cfg, data = tmp_path / "net.toml", tmp_path / "data.csv"
    cfg.write_text(CONFIG)
    data.write_bytes(CSV)
    missing = tmp_path / "missing.file"
    argv = ["train", str(missing if which == "config" else cfg),
            "--data", str(missing if which == "data" else data)]
    assert cli.main(argv) == 2
    line = one_error_line(capsys)
    assert "missing.file" in line and "No such file" in line


@pytest.mark.parametrize(
    ("out", "phrase"),
    [("folder", "it is a folder"), ("nowhere/model.npz", "does not exist")],
)
def test_a_bad_output_path_is_refused_before_training(tmp_path, capsys, monkeypatch, out,
                                                      phrase):
    """--out naming a folder, or a file in a missing folder, is refused before any training."""
    def no_training(self, *args, **kwargs):
        pytest.fail("trained although the model could not be saved")

    monkeypatch.setattr(dg.Model, "fit", no_training)
    (tmp_path / "folder").mkdir()
    status, _ = run(tmp_path, CSV, CONFIG, "--out", str(tmp_path / out))
    assert status == 2
    assert phrase in one_error_line(capsys)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="permissions do not bind the superuser")
def test_an_unwritable_output_folder_is_refused_before_training(tmp_path, capsys):
    """--out in a folder the user may not write is refused before training, in one line."""
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        status, _ = run(tmp_path, CSV, CONFIG, "--out", str(locked / "model.npz"))
    finally:
        locked.chmod(0o700)
    assert status == 2
    assert "not writable" in one_error_line(capsys)


def test_a_failing_save_is_one_line(tmp_path, capsys, monkeypatch):
    """An OS error while saving (a full disk, say) is one line saying the model was not saved."""
    def full_disk(self, path):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(dg.Model, "save", full_disk)
    status, out = run(tmp_path, CSV)
    assert status == 2
    assert "cannot save the model to" in capsys.readouterr().err
    assert not out.exists()


def test_the_default_output_never_overwrites_the_config(tmp_path, capsys):
    """A config file named *.npz is not overwritten by the model saved beside it."""
    cfg, data = tmp_path / "net.npz", tmp_path / "data.csv"
    cfg.write_text(CONFIG)
    data.write_bytes(CSV)
    assert cli.main(["train", str(cfg), "--data", str(data), "--quiet"]) == 2
    assert "it is the config" in one_error_line(capsys)
    assert cfg.read_text() == CONFIG


def test_running_out_of_memory_is_one_line(tmp_path, capsys, monkeypatch):
    """A MemoryError while training (a config far too large) is one line and status 2."""
    def too_big(self, *args, **kwargs):
        raise MemoryError("Unable to allocate 745. GiB for an array")

    monkeypatch.setattr(dg.Model, "fit", too_big)
    status, _ = run(tmp_path, CSV)
    assert status == 2
    assert "not enough memory" in one_error_line(capsys)


def test_ctrl_c_exits_130_without_a_traceback(tmp_path, capsys, monkeypatch):
    """Ctrl-C during training ends `dualgrad train` with status 130 and one line, as shells
    expect of an interrupted command."""
    def interrupted(self, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(dg.Model, "fit", interrupted)
    status, out = run(tmp_path, CSV)
    assert status == 130
    assert capsys.readouterr().err == "dualgrad: interrupted\n"
    assert not out.exists()


# ---- demo ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", ["-1", "x"])
def test_demo_with_a_bad_seed_is_a_usage_error(capsys, seed):
    """`dualgrad demo --seed` takes an int >= 0; anything else is a usage error with status 2."""
    with pytest.raises(SystemExit) as info:
        cli.main(["demo", "--no-plots", "--seed", seed])
    assert info.value.code == 2
    printed, err = capsys.readouterr()
    assert printed == "" and "a seed is an int >= 0" in err and "Traceback" not in err


def test_demo_with_a_file_as_the_picture_folder_is_refused_before_running(tmp_path, capsys):
    """`dualgrad demo --out FILE` says the file is no folder, before running any experiment."""
    path = tmp_path / "pictures"
    path.write_text("mine")
    assert cli.main(["demo", "--out", str(path)]) == 2
    assert "is a file; give a folder" in one_error_line(capsys)
    assert path.read_text() == "mine"
