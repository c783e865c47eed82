"""Model files from elsewhere: Model.load checks a file before building or decompressing it,
never runs code from it, and refuses every broken file with ModelFileError; save keeps the
mode of the file it replaces."""

from __future__ import annotations

import json
import os
import stat
import struct
import subprocess
import sys
import tracemalloc
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import dualgrad as dg

SMALL = [{"type": "dense", "units": 3, "activation": "tanh"}, {"type": "dense", "units": 1}]


def _model() -> dg.Model:
    model = dg.Model(SMALL, "mse", "adam", seed=0, input_shape=[2])
    rng = np.random.default_rng(1)
    # weights that float32 holds exactly, so a float32 file can hold this very model
    model.set_weights([rng.normal(size=w.shape).astype(np.float32) for w in model.get_weights()])
    return model


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> tuple[dg.Model, bytes]:
    model = _model()
    path = tmp_path_factory.mktemp("saved") / "model.npz"
    model.save(path)
    return model, path.read_bytes()


def _arrays(data: bytes, tmp_path: Path) -> dict[str, Any]:
    """The arrays of a saved file, to build variants of it."""
    path = tmp_path / "source.npz"
    path.write_bytes(data)
    with np.load(path, allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files}


def _write(path: Path, arrays: dict[str, Any]) -> Path:
    with open(path, "wb") as f:
        np.savez(f, **arrays)
    return path


def _with_config(arrays: dict[str, Any], **changes: Any) -> dict[str, Any]:
    config = json.loads(str(arrays["config"]))
    config.update(changes)
    return {**arrays, "config": np.array(json.dumps(config))}


def _same_model(loaded: dg.Model, model: dg.Model) -> bool:
    return loaded.get_config() == model.get_config() and all(
        np.array_equal(a, b) for a, b in zip(loaded.get_weights(), model.get_weights()))


# ---- what the checks are there for ---------------------------------------------------------------


def test_a_future_format_version_is_refused(saved, tmp_path):
    """A file marked 'dualgrad-model/2', otherwise complete and valid, is refused for its
    format marker."""
    arrays = _arrays(saved[1], tmp_path)
    path = _write(tmp_path / "future.npz", {**arrays, "format": np.array("dualgrad-model/2")})
    with pytest.raises(dg.ModelFileError, match="format marker is 'dualgrad-model/2'"):
        dg.Model.load(path)


class _Trap:
    """Unpickling this runs code: it writes a file."""

    def __init__(self, target: str) -> None:
        self.target = target

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path(self.target).write_text, ("code ran",))


@pytest.mark.parametrize("member", ["weight_0", "config"])
def test_an_object_array_is_refused_as_pickled_data_and_never_unpickled(saved, tmp_path,
                                                                        member):
    """A complete file whose weight or config is an object array (pickled data) is refused
    because it holds pickled data, and loading it runs none of its code."""
    arrays = _arrays(saved[1], tmp_path)
    trap = tmp_path / "trap.txt"
    shape = arrays[member].shape
    objects = np.empty(shape, dtype=object)
    objects[...] = _Trap(str(trap)) if member == "config" else 0.5
    if member == "weight_0":
        objects.flat[0] = _Trap(str(trap))
    path = _write(tmp_path / "pickled.npz", {**arrays, member: objects})
    with pytest.raises(dg.ModelFileError, match="pickled data"):
        dg.Model.load(path)
    assert not trap.exists()


def test_a_config_implying_other_weights_is_refused_before_building(saved, tmp_path):
    """A file whose config implies 10^8 hidden units but holds 3 is refused at once, naming
    both sets of shapes, with no weights built."""
    arrays = _arrays(saved[1], tmp_path)
    config = json.loads(str(arrays["config"]))
    config["layers"][0]["units"] = 10**8
    path = _write(tmp_path / "big.npz", _with_config(arrays, layers=config["layers"]))
    script = (
        "import resource, sys, dualgrad as dg\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "try:\n"
        "    dg.Model.load(sys.argv[1])\n"
        "except dg.ModelFileError as exc:\n"
        "    print(exc)\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)\n"
    )
    out = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True,
                         text=True, timeout=120, check=True).stdout.splitlines()
    assert "implies weights of shapes [(2, 100000000)" in out[0]
    assert "holds weights of shapes [(2, 3)" in out[0]
    assert int(out[1]) < 64 * 1024  # kilobytes: nothing near the 2.4 GB those weights take


@pytest.mark.parametrize("units", [10**12, 10**30])
def test_a_config_implying_impossible_weights_is_a_model_file_error(saved, tmp_path, units):
    """Units too many to allocate, or to index, are a ModelFileError, not a MemoryError."""
    arrays = _arrays(saved[1], tmp_path)
    config = json.loads(str(arrays["config"]))
    config["layers"][0]["units"] = units
    path = _write(tmp_path / "huge.npz", _with_config(arrays, layers=config["layers"]))
    with pytest.raises(dg.ModelFileError, match="implies weights"):
        dg.Model.load(path)


def test_members_outside_the_format_are_never_decompressed(saved, tmp_path):
    """A 64 MB member the format does not define, deflated to a few KB, is never read: the
    file loads and the load allocates little."""
    path = tmp_path / "padded.npz"
    path.write_bytes(saved[1])
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as zf, \
            zf.open("padding.npy", "w", force_zip64=True) as member:
        block = bytes(1 << 20)
        for _ in range(64):
            member.write(block)
    assert path.stat().st_size < 1 << 20
    tracemalloc.start()
    try:
        loaded = dg.Model.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert _same_model(loaded, saved[0])
    assert peak < 8 << 20


def test_a_weight_declaring_more_than_its_config_implies_is_never_decompressed(saved, tmp_path):
    """A weight member whose header declares 64 MB of zeros (deflated to a few KB) is refused
    from its header, before its data is read."""
    path = tmp_path / "bomb.npz"
    arrays = _arrays(saved[1], tmp_path)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, arr in arrays.items():
            if name == "weight_0":
                with zf.open("weight_0.npy", "w", force_zip64=True) as member:
                    np.lib.format.write_array_header_1_0(
                        member, {"descr": "<f8", "fortran_order": False, "shape": (1 << 23,)})
                    for _ in range(64):
                        member.write(bytes(1 << 20))
            else:
                with zf.open(f"{name}.npy", "w") as member:
                    np.lib.format.write_array(member, arr)
    tracemalloc.start()
    try:
        # refused by its expansion (the members declare 64 MB from a few KB) before even its
        # header is compared with the config
        with pytest.raises(dg.ModelFileError, match=r"more than 16 times"):
            dg.Model.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20


def test_complex_weights_are_refused(saved, tmp_path):
    """A weight of complex numbers is refused, not loaded without its imaginary part."""
    arrays = _arrays(saved[1], tmp_path)
    path = _write(tmp_path / "complex.npz", {**arrays, "weight_0": arrays["weight_0"] + 1j})
    with pytest.raises(dg.ModelFileError, match="complex"):
        dg.Model.load(path)


# ---- the fuzzer ----------------------------------------------------------------------------------


def _set_bits(data: bytes, offset: int, fmt: str, value: int) -> bytes:
    return data[:offset] + struct.pack(fmt, value) + data[offset + struct.calcsize(fmt):]


def _patched_headers(data: bytes, field: str, value: int) -> bytes:
    """Every local and central zip header of `data` with one field set (flag bits or the
    compression method)."""
    offsets = {"flags": (6, 8), "method": (8, 10)}[field]
    for signature, shift in ((b"PK\x03\x04", 0), (b"PK\x01\x02", 2)):
        start = data.find(signature)
        while start != -1:
            data = _set_bits(data, start + offsets[0] + shift, "<H", value)
            start = data.find(signature, start + 4)
    return data


def _crafted(data: bytes, tmp_path: Path) -> dict[str, bytes]:
    """Files written to break a reader in one known way each, from the saved file's bytes."""
    arrays = _arrays(data, tmp_path)
    config = json.loads(str(arrays["config"]))

    def npz(**changes: Any) -> bytes:
        out = {**arrays, **changes}
        return _write(tmp_path / "crafted.npz", {k: v for k, v in out.items()
                                                 if v is not None}).read_bytes()

    wide = dict(config, layers=[dict(config["layers"][0], units=10**6), config["layers"][1]])
    return {
        "encrypted": _patched_headers(data, "flags", 0x1),
        "unknown-compression": _patched_headers(data, "method", 99),
        "deep-json": npz(config=np.array("[" * 100_000 + "]" * 100_000)),
        "huge-int": npz(config=np.array('{"seed": ' + "9" * 5000 + "}")),
        "huge-units": npz(config=np.array(json.dumps(wide))),
        "huge-input": npz(config=np.array(json.dumps(dict(config, input_shape=[10**40])))),
        "config-list": npz(config=np.array("[1, 2]")),
        "config-number": npz(config=np.array(3.0)),
        "unbuilt": npz(config=np.array(json.dumps({k: v for k, v in config.items()
                                                   if k != "input_shape"}))),
        "no-format": npz(format=None),
        "no-config": npz(config=None),
        "missing-weight": npz(weight_1=None),
        "extra-weight": npz(weight_4=np.zeros(2)),
        "wrong-shape": npz(weight_0=np.zeros((3, 2))),
        "nan-weight": npz(weight_1=np.full(3, np.nan)),
        "string-weight": npz(weight_1=np.array(["a", "b", "c"])),
        "structured-weight": npz(weight_1=np.zeros(3, dtype=[("a", "<f8")])),
        "bytes-format": npz(format=np.array(b"dualgrad-model/1")),
        "unknown-layer": npz(config=np.array(json.dumps(dict(config, layers=[{"type": "x"}])))),
    }


def _correct_variants(model: dg.Model, data: bytes, tmp_path: Path) -> dict[str, bytes]:
    """Files that differ from a save but hold the same model: they must load, exactly."""
    arrays = _arrays(data, tmp_path)
    kernel = arrays["weight_0"]
    return {
        "fortran-order": _write(tmp_path / "f.npz", {**arrays, "weight_0": np.asfortranarray(
            kernel)}).read_bytes(),
        "float32": _write(tmp_path / "g.npz", {**arrays, "weight_2": arrays["weight_2"].astype(
            np.float32)}).read_bytes(),
        "extra-member": _write(tmp_path / "h.npz", {**arrays, "notes": np.arange(4)}).read_bytes(),
        "deflated": _deflated(data, tmp_path / "d.npz"),
    }


def _deflated(data: bytes, path: Path) -> bytes:
    """The same archive with every member deflated (as np.savez_compressed writes)."""
    path.write_bytes(data)
    with zipfile.ZipFile(path) as source:
        members = [(info.filename, source.read(info)) for info in source.infolist()]
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for name, content in members:
            target.writestr(name, content)
    return path.read_bytes()


def _load(data: bytes, path: Path) -> dg.Model | None:
    """The model in `data`, or None when it is refused with a ModelFileError."""
    path.write_bytes(data)
    try:
        return dg.Model.load(path)
    except dg.ModelFileError:
        return None


def test_crafted_files_are_model_file_errors(saved, tmp_path):
    """Each crafted way of breaking a file (encrypted or unknown compression, deep or huge
    JSON, a config at odds with the weights, bad dtypes) is a ModelFileError."""
    outcomes = {}
    for kind, data in _crafted(saved[1], tmp_path).items():
        try:
            dg.Model.load(_written(tmp_path, data))
        except Exception as exc:  # every kind is reported at once
            outcomes[kind] = type(exc).__name__
        else:
            outcomes[kind] = "loaded"
    assert outcomes == dict.fromkeys(outcomes, "ModelFileError")


def _written(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "case.npz"
    path.write_bytes(data)
    return path


def test_equivalent_files_load_the_same_model(saved, tmp_path):
    """A file with Fortran-ordered or float32 weights, deflated members, or a member the
    format does not define, loads the saved model exactly."""
    model, data = saved
    for kind, variant in _correct_variants(model, data, tmp_path).items():
        assert _same_model(dg.Model.load(_written(tmp_path, variant)), model), kind


def test_fuzzed_files_load_correctly_or_raise_model_file_error(saved, tmp_path):
    """Byte flips, truncations and splices over a saved file (stored and deflated), and over
    files crafted to break a reader, give a ModelFileError or the saved model, never another
    exception."""
    model, data = saved
    rng = np.random.default_rng(2026)
    # the saved file, the same deflated (so that zlib meets broken streams), crafted files
    seeds = [data, _deflated(data, tmp_path / "d.npz"), *_crafted(data, tmp_path).values()]
    outcomes = {"loaded": 0, "refused": 0}
    path = tmp_path / "fuzzed.npz"
    for case in range(600):
        base = seeds[case % 2] if case % 3 else seeds[int(rng.integers(len(seeds)))]
        how = case % 4
        if how == 0:  # truncated
            fuzzed = base[: int(rng.integers(len(base)))]
        elif how == 3:  # a run of the file copied over another place
            start, at = (int(i) for i in rng.integers(len(base), size=2))
            run = base[start:start + int(rng.integers(1, 64))]
            fuzzed = (base[:at] + run + base[at + len(run):])[: len(base)]
        else:  # one to four bytes flipped
            fuzzed = bytearray(base)
            for at in rng.integers(len(base), size=int(rng.integers(1, 5))):
                fuzzed[at] ^= int(rng.integers(1, 256))
            fuzzed = bytes(fuzzed)
        loaded = _load(fuzzed, path)
        if loaded is None:
            outcomes["refused"] += 1
        else:
            assert _same_model(loaded, model), case
            outcomes["loaded"] += 1
    assert outcomes["refused"] > 300 and outcomes["loaded"] > 0


# ---- saving --------------------------------------------------------------------------------------


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
@pytest.mark.parametrize("mode", [0o600, 0o640, 0o664])
def test_save_over_a_file_keeps_its_permissions(tmp_path, mode):
    """Saving over an existing model file keeps its permission bits (a private file stays
    private)."""
    path = tmp_path / "model.npz"
    _model().save(path)
    path.chmod(mode)
    _model().save(path)
    assert stat.S_IMODE(path.stat().st_mode) == mode
    assert _same_model(dg.Model.load(path), _model())


def test_a_deflated_file_expanding_far_beyond_its_size_is_refused(tmp_path):
    """A deflated file whose (matching) config and weights would expand to hundreds of times
    its size is refused before anything is decompressed: no gigabytes from a small file."""
    model = dg.Model([dg.layer("dense", units=512)], "mse", "sgd", seed=0, input_shape=[512])
    model.set_weights([np.zeros((512, 512)), np.zeros(512)])
    plain = tmp_path / "zeros.npz"
    model.save(plain)
    bomb = tmp_path / "bomb.npz"
    with zipfile.ZipFile(plain) as source, \
            zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, source.read(info))
    assert bomb.stat().st_size * 100 < plain.stat().st_size
    with pytest.raises(dg.ModelFileError, match="more than 16 times"):
        dg.Model.load(bomb)
