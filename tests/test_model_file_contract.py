"""The model file's checks, one reason each: every way Model.load refuses a file is a
ModelFileError that names what is wrong with it, and files that only look unusual still load."""

from __future__ import annotations

import io
import json
import os
import struct
import sys
import types
import warnings
import zipfile
from importlib import metadata
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pytest

import dualgrad as dg
from dualgrad import _registry

LAYERS = [{"type": "dense", "units": 3, "activation": "tanh"}, {"type": "dense", "units": 1}]


def _model() -> dg.Model:
    return dg.Model(LAYERS, "mse", "adam", seed=0, input_shape=[2])


@pytest.fixture(scope="module")
def arrays(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The arrays of a saved model's file, to build variants of it."""
    path = tmp_path_factory.mktemp("saved") / "model.npz"
    _model().save(path)
    with np.load(path, allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files}


def _write(path: Path, arrays: dict[str, Any]) -> Path:
    with open(path, "wb") as f:
        np.savez(f, **{k: v for k, v in arrays.items() if v is not None})
    return path


def _refusal(path: Path) -> str:
    """The message of the ModelFileError that loading `path` raises."""
    with pytest.raises(dg.ModelFileError) as info:
        dg.Model.load(path)
    return str(info.value)


def _same_as_saved(loaded: dg.Model) -> bool:
    model = _model()
    return loaded.get_config() == model.get_config() and all(
        np.array_equal(a, b) for a, b in zip(loaded.get_weights(), model.get_weights()))


# ---- the format marker ---------------------------------------------------------------------------


def test_a_long_foreign_marker_is_quoted_by_its_first_40_characters(arrays, tmp_path):
    """A foreign format marker is named in the error, cut to its first 40 characters."""
    marker = "someone-else/" + "x" * 100
    message = _refusal(_write(tmp_path / "m.npz", {**arrays, "format": np.array(marker)}))
    assert f"its format marker is {marker[:40]!r};" in message
    assert "'dualgrad-model/1'" in message


@pytest.mark.parametrize("length", [600, 992])
def test_a_marker_up_to_4096_bytes_is_read_and_named_foreign(arrays, tmp_path, length):
    """A marker member of up to 4096 bytes (992 characters) is read, and refused as foreign."""
    marker = "m" * length
    message = _refusal(_write(tmp_path / "m.npz", {**arrays, "format": np.array(marker)}))
    assert "its format marker is 'mmm" in message


def test_a_marker_over_4096_bytes_is_refused_unread(arrays, tmp_path):
    """A marker member of more than 4096 bytes is refused by its declared size, unread."""
    message = _refusal(_write(tmp_path / "m.npz", {**arrays, "format": np.array("m" * 993)}))
    assert "its format member declares 4100 bytes, more than the 4096" in message


# ---- the members ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("removed", "named"), [
    (["weight_1"], "weight_1 of weights 0 to 2"),
    (["weight_0", "weight_1"], "weight_0 of weights 0 to 1"),
], ids=["one", "two"])
def test_a_missing_weight_is_named_with_the_range_of_weights(arrays, tmp_path, removed, named):
    """A file without some of its weights names the first missing one and the range of
    weights its members make."""
    message = _refusal(_write(tmp_path / "w.npz", {**arrays, **dict.fromkeys(removed)}))
    assert f"it lacks {named}" in message


def _central_entries(data: bytes) -> list[int]:
    """The offsets of the central directory's entries."""
    offsets, at = [], data.find(b"PK\x01\x02")
    while at != -1:
        offsets.append(at)
        at = data.find(b"PK\x01\x02", at + 4)
    return offsets


def test_a_member_reaching_past_the_end_of_the_file_is_refused(arrays, tmp_path):
    """A member whose declared size runs past the end of the file is refused as such, though
    all members together claim no more bytes than the file holds."""
    data = _write(tmp_path / "s.npz", arrays).read_bytes()
    with zipfile.ZipFile(tmp_path / "s.npz") as z:
        infos = z.infolist()
    last = max(infos, key=lambda info: info.header_offset)
    size = len(data) - last.header_offset + 1
    assert sum(i.compress_size for i in infos) - last.compress_size + size <= len(data)
    entry = _central_entries(data)[infos.index(last)]
    data = data[:entry + 20] + struct.pack("<II", size, size) + data[entry + 28:]
    path = tmp_path / "past.npz"
    path.write_bytes(data)
    assert f"its member {last.filename} reaches past the end of the file" in _refusal(path)


def test_other_general_purpose_flags_than_encryption_load(arrays, tmp_path):
    """A file whose members carry general-purpose flags other than encryption (UTF-8 names)
    loads the saved model."""
    data = _write(tmp_path / "f.npz", arrays).read_bytes()
    for signature, flags in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.find(signature)
        while at != -1:
            data = data[:at + flags] + struct.pack("<H", 0x800) + data[at + flags + 2:]
            at = data.find(signature, at + 4)
    path = tmp_path / "utf8.npz"
    path.write_bytes(data)
    assert _same_as_saved(dg.Model.load(path))


# ---- the weights' dtypes -------------------------------------------------------------------------


@pytest.mark.parametrize("weight", [np.array(["a", "b", "c"]), np.array([True, False, True])],
                         ids=["str", "bool"])
def test_weights_of_strings_or_booleans_are_not_real_numbers(arrays, tmp_path, weight):
    """A weight of strings or booleans is refused as not real numbers, naming its dtype."""
    message = _refusal(_write(tmp_path / "d.npz", {**arrays, "weight_1": weight}))
    assert f"weight_1 holds {weight.dtype} values, not real numbers" in message


def _with_member(source: Path, path: Path, name: str, content: bytes) -> Path:
    """A copy of the archive at `source` with member `name` holding `content`."""
    with zipfile.ZipFile(source) as z:
        members = [(i.filename, content if i.filename == name else z.read(i))
                   for i in z.infolist()]
    with zipfile.ZipFile(path, "w") as z:
        for member, data in members:
            z.writestr(member, data)
    return path


def test_a_member_ending_inside_its_header_length_is_refused(arrays, tmp_path):
    """A weight that ends inside the length field of its .npy header is refused as ending
    inside its header."""
    source = _write(tmp_path / "s.npz", arrays)
    path = _with_member(source, tmp_path / "cut.npz", "weight_0.npy", b"\x93NUMPY\x01\x00\x10")
    assert "its weight_0 ends inside its header" in _refusal(path)


def test_a_header_declaring_more_than_10000_bytes_is_refused_unread(arrays, tmp_path):
    """A weight whose .npy header declares more than 10000 bytes is refused by that length,
    before reading it."""
    source = _write(tmp_path / "s.npz", arrays)
    content = b"\x93NUMPY\x02\x00" + struct.pack("<I", 60_000) + b" " * 100
    path = _with_member(source, tmp_path / "long.npz", "weight_0.npy", content)
    assert "its weight_0 declares a header of 60000 bytes, more than the 10000" in _refusal(path)


@pytest.mark.parametrize(("extra", "refused"), [(64, False), (65, True)])
def test_a_deflated_member_may_declare_1032_times_its_size_plus_64(arrays, tmp_path, extra,
                                                                     refused):
    """A deflated member declaring more than deflate's largest expansion (1032 bytes a byte,
    plus 64) is refused as such; up to that bound, it is refused only for what it holds."""
    source = _write(tmp_path / "s.npz", arrays)
    with zipfile.ZipFile(source) as z:
        members = [(i.filename, z.read(i)) for i in z.infolist()]
    deflated = tmp_path / "d.npz"
    with zipfile.ZipFile(deflated, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, data in members:
            z.writestr(name, data)
        infos = z.infolist()
    data = deflated.read_bytes()
    first = infos[0]
    declared = 1032 * first.compress_size + extra
    entry = _central_entries(data)[0]
    data = data[:entry + 24] + struct.pack("<I", declared) + data[entry + 28:]
    path = tmp_path / "big.npz"
    path.write_bytes(data)
    message = _refusal(path)
    claim = (f"its member {first.filename} declares {declared} bytes from "
             f"{first.compress_size}, more than its compression can give")
    assert (claim in message) == refused


def _npy(header: str, data: bytes) -> bytes:
    """A version 1.0 .npy member with the header text `header`."""
    text = header.encode("latin1")
    text += b" " * (-(10 + len(text) + 1) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text + data


def test_a_header_without_fortran_order_is_refused_as_incomplete(arrays, tmp_path):
    """A weight whose .npy header lacks one of descr, fortran_order and shape is refused as
    such."""
    source = _write(tmp_path / "s.npz", arrays)
    content = _npy("{'descr': '<f8', 'shape': (3,), }", np.zeros(3).tobytes())
    path = _with_member(source, tmp_path / "h.npz", "weight_1.npy", content)
    assert "its weight_1 has a header without descr, fortran_order and shape" in _refusal(path)


def test_a_wide_input_loads(tmp_path):
    """A model taking samples of 100 features saves and loads."""
    model = dg.Model([{"type": "dense", "units": 1}], "mse", "sgd", seed=0, input_shape=[100])
    model.save(tmp_path / "wide.npz")
    loaded = dg.Model.load(tmp_path / "wide.npz")
    assert loaded.get_config() == model.get_config()


def test_a_member_named_twice_is_refused(arrays, tmp_path):
    """An archive holding two members of one defined name is refused, naming it."""
    source = _write(tmp_path / "s.npz", arrays)
    path = tmp_path / "twice.npz"
    with zipfile.ZipFile(source) as z, zipfile.ZipFile(path, "w") as out:
        for info in z.infolist():
            out.writestr(info.filename, z.read(info))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # zipfile's "Duplicate name"
            out.writestr("weight_0.npy", z.read("weight_0.npy"))
    assert "it holds more than one member named weight_0.npy" in _refusal(path)


def test_members_claiming_exactly_the_file_size_pass_the_size_check(tmp_path):
    """Members that together claim exactly as many bytes as the file holds are not refused for
    their size (here the file is refused for lacking its marker)."""
    path = tmp_path / "whole.npz"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("config.npy", b"x" * 100)
    data = path.read_bytes()
    entry = _central_entries(data)[0]
    data = data[:entry + 20] + struct.pack("<II", len(data), len(data)) + data[entry + 28:]
    path.write_bytes(data)
    message = _refusal(path)
    assert "it has no 'dualgrad-model/1' format marker" in message


@pytest.mark.parametrize(("layers", "listed"), [
    ([{"type": "dense", "units": 2}] * 3, "] (6 arrays)"),
    ([{"type": "dense", "units": 2}] * 3 + [{"type": "dense", "units": 1, "use_bias": False}],
     ", ...] (7 arrays)"),
], ids=["six", "seven"])
def test_a_config_at_odds_with_the_weights_lists_six_shapes_at_most(tmp_path, layers, listed):
    """A config implying other weights than the file holds is refused listing up to six
    shapes of each, and '...' when there are more."""
    model = dg.Model(layers, "mse", "sgd", seed=0, input_shape=[2])
    model.save(tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz", allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    config = json.loads(str(arrays["config"]))
    config["input_shape"] = [5]
    arrays["config"] = np.array(json.dumps(config))
    message = _refusal(_write(tmp_path / "odd.npz", arrays))
    six = "(5, 2), (2,), (2, 2), (2,), (2, 2), (2,)"
    assert f"its config implies weights of shapes [{six}{listed}" in message


@pytest.mark.parametrize("change", [4, -4], ids=["longer", "shorter"])
def test_a_marker_longer_or_shorter_than_its_string_is_refused(arrays, tmp_path, change):
    """A marker member holding more or fewer bytes than its one string is refused as not one
    string."""
    source = _write(tmp_path / "s.npz", arrays)
    with zipfile.ZipFile(source) as z:
        marker = z.read("format.npy")
    content = marker + b"\0" * change if change > 0 else marker[:change]
    path = _with_member(source, tmp_path / "tail.npz", "format.npy", content)
    assert "its format is not one string" in _refusal(path)


@pytest.mark.parametrize("magic", [b"\x93NUMPY\x09\x00", b"\x93NOTNP\x01\x00",
                                   b"\xffNUMPY\x01\x00"],
                         ids=["version-9", "not-npy", "not-npy-sorting-after"])
def test_a_member_of_an_unknown_npy_version_or_no_npy_is_refused(arrays, tmp_path, magic):
    """A weight that is not .npy, or of a .npy version dualgrad does not read, is refused as
    such."""
    source = _write(tmp_path / "s.npz", arrays)
    with zipfile.ZipFile(source) as z:
        content = magic + z.read("weight_0.npy")[8:]
    path = _with_member(source, tmp_path / "v.npz", "weight_0.npy", content)
    assert "its weight_0 is not an .npy array of a version dualgrad reads" in _refusal(path)


def test_a_header_with_an_extra_key_is_refused(arrays, tmp_path):
    """A weight whose .npy header holds a key besides descr, fortran_order and shape is
    refused, as NumPy refuses it."""
    source = _write(tmp_path / "s.npz", arrays)
    header = "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), 'extra': 1, }"
    path = _with_member(source, tmp_path / "x.npz", "weight_1.npy",
                        _npy(header, np.zeros(3).tobytes()))
    assert "its weight_1 has a header without descr, fortran_order and shape" in _refusal(path)


@pytest.mark.parametrize("dimension", [2**63, 10**40])
def test_an_input_dimension_of_2_to_the_63_is_not_an_input_shape(arrays, tmp_path, dimension):
    """An input dimension of 2**63 or more is refused as not a positive int of the shape."""
    config = json.loads(str(arrays["config"]))
    config["input_shape"] = [dimension]
    path = _write(tmp_path / "i.npz", {**arrays, "config": np.array(json.dumps(config))})
    assert f"its input shape [{dimension}] is not a list of positive ints" in _refusal(path)


def test_save_takes_another_temporary_name_when_one_is_taken(tmp_path, monkeypatch):
    """When the first temporary file name save tries is taken, it tries another and saves."""
    real_open = os.open
    taken = []

    def open_once_taken(path: Any, flags: int, *args: Any) -> int:
        if flags & os.O_EXCL and not taken:
            taken.append(path)
            raise FileExistsError(path)
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", open_once_taken)
    _model().save(tmp_path / "m.npz")
    monkeypatch.undo()
    assert taken and _same_as_saved(dg.Model.load(tmp_path / "m.npz"))


@pytest.mark.parametrize("version", [(2, 0), (3, 0)])
def test_weights_in_npy_versions_2_and_3_load(arrays, tmp_path, version):
    """A weight written as .npy version 2.0 or 3.0 (a UTF-8 header) loads the saved model."""
    source = _write(tmp_path / "s.npz", arrays)
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, arrays["weight_0"], version=version)
    path = _with_member(source, tmp_path / "v.npz", "weight_0.npy", buffer.getvalue())
    assert _same_as_saved(dg.Model.load(path))


@pytest.mark.parametrize("marker", ["dualgrad-model/0", "a-format/1"])
def test_a_marker_sorting_before_the_format_is_refused(arrays, tmp_path, marker):
    """A marker of an older or other format is refused, whichever way it sorts."""
    message = _refusal(_write(tmp_path / "m.npz", {**arrays, "format": np.array(marker)}))
    assert f"its format marker is {marker!r}" in message


@pytest.mark.parametrize("marker", [np.array(3.0), np.array(["dualgrad-model/1"]),
                                    np.array(b"dualgrad-model/1")],
                         ids=["number", "list-of-one", "bytes"])
def test_a_marker_that_is_no_single_string_is_refused(arrays, tmp_path, marker):
    """A marker that is a number, a list of one string or bytes is refused as not one
    string."""
    message = _refusal(_write(tmp_path / "m.npz", {**arrays, "format": marker}))
    assert "its format is not one string" in message


def test_an_encrypted_member_is_refused_as_encrypted(arrays, tmp_path):
    """A file whose members are marked encrypted is refused naming the first such member."""
    data = _write(tmp_path / "e.npz", arrays).read_bytes()
    for signature, flags in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.find(signature)
        while at != -1:
            data = data[:at + flags] + struct.pack("<H", 0x1) + data[at + flags + 2:]
            at = data.find(signature, at + 4)
    path = tmp_path / "encrypted.npz"
    path.write_bytes(data)
    assert "its member weight_0.npy is encrypted" in _refusal(path)


def test_a_header_that_is_not_python_literal_is_unreadable(arrays, tmp_path):
    """A weight whose .npy header does not parse is refused as an unreadable header."""
    source = _write(tmp_path / "s.npz", arrays)
    path = _with_member(source, tmp_path / "p.npz", "weight_1.npy",
                        _npy("{'descr': <f8", np.zeros(3).tobytes()))
    assert "its weight_1 has an unreadable header" in _refusal(path)


def test_an_empty_weight_is_judged_against_the_config(arrays, tmp_path):
    """A weight of no elements is a well-formed array, refused as other than the config
    implies."""
    message = _refusal(_write(tmp_path / "z.npz", {**arrays, "weight_1": np.zeros(0)}))
    assert "but it holds weights of shapes [(2, 3), (0,), (3, 1), (1,)]" in message


def test_an_input_dimension_of_2_to_the_62_implies_weights_too_large(arrays, tmp_path):
    """An input dimension below 2**63 is an input shape, refused for the weights it implies."""
    config = json.loads(str(arrays["config"]))
    config["input_shape"] = [2**62]
    path = _write(tmp_path / "i.npz", {**arrays, "config": np.array(json.dumps(config))})
    message = _refusal(path)
    assert "its config implies weights that cannot even be created" in message
    assert "not a list of positive ints" not in message


@attrs.define(frozen=True)
class _SeededDense(dg.Dense):
    """A dense layer whose init reads its generator's bit generator, as some plugins do."""

    name = "seeded_dense"

    def init(self, input_shape: tuple[int, ...], rng: np.random.Generator) -> list[np.ndarray]:
        rng.bit_generator.state  # noqa: B018 (reading it is the point)
        return super().init(input_shape, rng)


def test_a_plugin_layer_using_its_generators_bit_generator_loads(tmp_path, monkeypatch):
    """A model with a plugin's layer whose init reads rng.bit_generator saves and loads."""
    module = types.ModuleType("fake_plugin_seeded")
    module.dualgrad_register_layers = dg.hookimpl(lambda: [_SeededDense])  # type: ignore[attr-defined]
    module.dualgrad_register_layers.__name__ = "dualgrad_register_layers"
    monkeypatch.setitem(sys.modules, module.__name__, module)
    real = metadata.entry_points
    point = metadata.EntryPoint("seeded", module.__name__, "dualgrad")
    monkeypatch.setattr(metadata, "entry_points", lambda **params: (
        [point] if params.get("group") == "dualgrad" else real(**params)))
    for var in ("DUALGRAD_NO_PLUGINS", "DUALGRAD_DISABLE_PLUGINS", "DUALGRAD_STRICT_PLUGINS"):
        monkeypatch.delenv(var, raising=False)
    _registry.reload()
    try:
        model = dg.Model([{"type": "seeded_dense", "units": 2}], "mse", "sgd", seed=0,
                         input_shape=[3])
        model.save(tmp_path / "seeded.npz")
        loaded = dg.Model.load(tmp_path / "seeded.npz")
        assert all(np.array_equal(a, b) for a, b in zip(loaded.get_weights(),
                                                         model.get_weights()))
    finally:
        monkeypatch.undo()
        _registry.reload()


@pytest.mark.parametrize("change", [-1, 1], ids=["fewer", "more"])
def test_a_stored_member_declaring_other_bytes_than_it_stores_is_refused(arrays, tmp_path,
                                                                        change):
    """A stored (uncompressed) member whose declared size differs from its stored size, smaller
    or larger, is refused naming both sizes."""
    data = _write(tmp_path / "s.npz", arrays).read_bytes()
    with zipfile.ZipFile(tmp_path / "s.npz") as z:
        first = z.infolist()[0]
    declared = first.file_size + change
    entry = _central_entries(data)[0]
    data = data[:entry + 24] + struct.pack("<I", declared) + data[entry + 28:]
    path = tmp_path / "other.npz"
    path.write_bytes(data)
    assert (f"its member {first.filename} declares {declared} bytes from "
            f"{first.compress_size}") in _refusal(path)


@pytest.mark.parametrize("dimension", [0, -2])
def test_an_input_dimension_of_zero_or_less_is_not_an_input_shape(arrays, tmp_path, dimension):
    """An input dimension of 0 or less is refused as not a positive int of the input shape."""
    config = json.loads(str(arrays["config"]))
    config["input_shape"] = [dimension]
    path = _write(tmp_path / "i.npz", {**arrays, "config": np.array(json.dumps(config))})
    assert f"its input shape [{dimension}] is not a list of positive ints" in _refusal(path)


def test_a_header_whose_fortran_order_is_no_bool_is_refused(arrays, tmp_path):
    """A weight whose .npy header gives fortran_order as something other than a bool is
    refused, naming it."""
    source = _write(tmp_path / "s.npz", arrays)
    header = "{'descr': '<f8', 'fortran_order': 0, 'shape': (3,), }"
    path = _with_member(source, tmp_path / "f.npz", "weight_1.npy",
                        _npy(header, np.zeros(3).tobytes()))
    assert "its weight_1 has a header with shape (3,) and fortran_order 0" in _refusal(path)


def test_a_model_of_more_than_256_weights_loads(tmp_path):
    """A model of 260 weight arrays (130 dense layers) saves and loads."""
    model = dg.Model([{"type": "dense", "units": 1}] * 130, "mse", "sgd", seed=0,
                     input_shape=[1])
    model.save(tmp_path / "deep.npz")
    assert len(dg.Model.load(tmp_path / "deep.npz").get_weights()) == 260


@pytest.mark.parametrize("length", [1000, 10_000])
def test_a_weight_with_a_long_padded_header_loads(arrays, tmp_path, length):
    """A weight whose .npy header is padded (as NumPy allows) to 1000 bytes, or to the 10000
    bytes NumPy reads at most, loads."""
    source = _write(tmp_path / "s.npz", arrays)
    kernel = arrays["weight_0"]
    text = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }"
    header = (text + " " * (length - len(text) - 1) + "\n").encode("latin1")
    content = b"\x93NUMPY\x02\x00" + struct.pack("<I", len(header)) + header
    path = _with_member(source, tmp_path / "pad.npz", "weight_0.npy",
                        content + kernel.astype("<f8").tobytes())
    assert _same_as_saved(dg.Model.load(path))


@pytest.mark.parametrize(("padding", "refused"), [(700_000, False), (1_050_000, True)])
def test_a_config_may_take_up_to_4_mib(arrays, tmp_path, padding, refused):
    """A config member of up to 4 MiB (a million characters) is read; a larger one is
    refused by its declared size."""
    config = str(arrays["config"])
    padded = np.array(config[:-1] + " " * padding + "}")
    path = _write(tmp_path / "c.npz", {**arrays, "config": padded})
    if refused:
        assert "more than the 4194304 a config may take" in _refusal(path)
    else:
        assert _same_as_saved(dg.Model.load(path))


@pytest.mark.parametrize("change", [8, -8], ids=["longer", "shorter"])
def test_a_weight_holding_other_data_than_its_header_declares_is_refused(arrays, tmp_path,
                                                                         change):
    """A weight member holding more or fewer bytes than its header declares is refused."""
    source = _write(tmp_path / "s.npz", arrays)
    with zipfile.ZipFile(source) as z:
        data = z.read("weight_1.npy")
    content = data + b"\0" * change if change > 0 else data[:change]
    path = _with_member(source, tmp_path / "long.npz", "weight_1.npy", content)
    assert "weight_1 declares 24 bytes of data but its member holds another amount" in \
        _refusal(path)


def test_a_header_with_a_negative_dimension_is_refused(arrays, tmp_path):
    """A weight whose .npy header gives a negative dimension is refused, naming the shape."""
    source = _write(tmp_path / "s.npz", arrays)
    header = "{'descr': '<f8', 'fortran_order': False, 'shape': (-1,), }"
    path = _with_member(source, tmp_path / "n.npz", "weight_1.npy",
                        _npy(header, np.zeros(3).tobytes()))
    assert "its weight_1 has a header with shape (-1,) and fortran_order False" in \
        _refusal(path)


@pytest.mark.parametrize("method", [6, 12, 99], ids=["imploded", "bzip2", "unknown"])
def test_a_member_compressed_otherwise_than_stored_or_deflated_is_refused(arrays, tmp_path,
                                                                          method):
    """A member compressed by a method other than stored or deflated (bzip2, or one zipfile
    does not know) is refused naming the method."""
    data = _write(tmp_path / "s.npz", arrays).read_bytes()
    for signature, field in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):
        at = data.find(signature)
        while at != -1:
            data = data[:at + field] + struct.pack("<H", method) + data[at + field + 2:]
            at = data.find(signature, at + 4)
    path = tmp_path / "method.npz"
    path.write_bytes(data)
    assert f"its member weight_0.npy is compressed by method {method}" in _refusal(path)


def test_a_member_shorter_than_the_npy_magic_is_refused(arrays, tmp_path):
    """A weight of 7 bytes, the .npy magic and version without the rest, is refused as not an
    .npy array dualgrad reads."""
    source = _write(tmp_path / "s.npz", arrays)
    path = _with_member(source, tmp_path / "m.npz", "weight_0.npy", b"\x93NUMPY\x01")
    assert "its weight_0 is not an .npy array of a version dualgrad reads" in _refusal(path)


def test_a_member_ending_inside_its_header_text_is_refused(arrays, tmp_path):
    """A weight whose .npy header text stops before the length it declares is refused as
    ending inside its header."""
    source = _write(tmp_path / "s.npz", arrays)
    content = b"\x93NUMPY\x01\x00" + struct.pack("<H", 118) + b"{'descr': '<f8', "
    path = _with_member(source, tmp_path / "t.npz", "weight_0.npy", content)
    assert "its weight_0 ends inside its header" in _refusal(path)
