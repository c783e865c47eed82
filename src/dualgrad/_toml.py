"""TOML and text files as users give them: UTF-8 with or without a byte-order mark, every way a
file can be unreadable turned into one dualgrad error. tomllib is the standard library's, or
tomli on Python 3.10."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from ._errors import ConfigError, DataError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = ["read_text", "read_toml", "tomllib"]


def _read_bytes(path: str | os.PathLike[str], what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except IsADirectoryError:
        raise DataError(f"the {what} {path} is a folder; give a file") from None
    except OSError as exc:
        raise DataError(f"cannot read the {what} {path}: {exc.strerror or exc}") from None


def read_text(path: str | os.PathLike[str], what: str) -> str:
    """The UTF-8 text of the file `path`, without a byte-order mark."""
    raw = _read_bytes(path, what)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
            kind = "UTF-16 text"
        else:
            kind = f"not UTF-8 text (byte {exc.start + 1} is {raw[exc.start:exc.start + 1]!r})"
        how = " (from a spreadsheet: as 'CSV UTF-8')" if what == "data file" else ""
        raise DataError(f"the {what} {path} is {kind}; save it as UTF-8{how}") from None


def read_toml(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The TOML file `path` as a dict; every way it can be unreadable is a ConfigError."""
    try:
        text = read_text(path, "config file")
    except DataError as exc:
        raise ConfigError(str(exc)) from None
    try:
        return tomllib.loads(text)
    except ValueError as exc:  # TOMLDecodeError, and integers too long to convert
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{path} nests arrays or tables too deeply to read; a model config "
                          "needs only a few levels") from None
