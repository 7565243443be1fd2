"""Low-level safetensors codec, pure standard library.

The format (https://github.com/huggingface/safetensors):

* 8 bytes: ``N``, little-endian unsigned 64-bit integer, the size of the header;
* ``N`` bytes: a UTF-8 JSON object. Each key except ``"__metadata__"`` names a tensor and
  maps to ``{"dtype": str, "shape": [int, ...], "data_offsets": [begin, end]}``, offsets
  relative to the start of the byte buffer. ``"__metadata__"`` optionally maps str -> str.
  The header may be padded with trailing spaces (``0x20``); writers pad it so the byte
  buffer starts at a multiple of 8.
* the byte buffer: the tensors, little-endian, row-major (C order), laid out contiguously
  with no holes and no overlaps.

This module deals only in ``(dtype_str, shape, raw bytes)`` triples; converting to and from
distml Tensors happens a layer above.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Mapping

__all__ = [
    "DTYPE_SIZES",
    "MAX_HEADER_SIZE",
    "SafetensorsError",
    "decode",
    "encode",
    "read_file",
    "write_file",
]

#: bytes per element of every dtype string of the safetensors format this codec knows.
DTYPE_SIZES: dict[str, int] = {
    "BOOL": 1,
    "U8": 1,
    "I8": 1,
    "F8_E4M3": 1,
    "F8_E5M2": 1,
    "I16": 2,
    "U16": 2,
    "F16": 2,
    "BF16": 2,
    "I32": 4,
    "U32": 4,
    "F32": 4,
    "I64": 8,
    "U64": 8,
    "F64": 8,
}

#: largest header accepted by :func:`decode` (same limit as the reference implementation).
MAX_HEADER_SIZE = 100_000_000

_METADATA_KEY = "__metadata__"


class SafetensorsError(ValueError):
    """Malformed safetensors data, or entries that cannot be encoded."""


Entry = tuple[str, tuple[int, ...], bytes]


def _check_shape(name: str, shape: object) -> tuple[int, ...]:
    if not isinstance(shape, (list, tuple)):
        raise SafetensorsError(f"tensor {name!r}: shape must be a list of integers, got {shape!r}")
    out = []
    for d in shape:
        if isinstance(d, bool) or not isinstance(d, int) or d < 0:
            raise SafetensorsError(
                f"tensor {name!r}: shape must hold non-negative integers, got {shape!r}"
            )
        out.append(d)
    return tuple(out)


def _check_metadata(metadata: object) -> dict[str, str] | None:
    if metadata is None:
        return None
    if not isinstance(metadata, Mapping):
        raise SafetensorsError(f"__metadata__ must be a mapping of str to str, got {metadata!r}")
    for k, v in metadata.items():
        if not isinstance(k, str) or not isinstance(v, str):
            raise SafetensorsError(f"__metadata__ must map str to str, got {k!r}: {v!r}")
    return dict(metadata)


def encode(
    entries: Mapping[str, tuple[str, tuple[int, ...], bytes | bytearray | memoryview]],
    metadata: Mapping[str, str] | None = None,
) -> bytes:
    """Serialize ``entries`` (name -> (dtype_str, shape, raw little-endian bytes)).

    Like the reference writer, tensors are laid out by decreasing itemsize, then by name,
    and the header is padded with spaces to a multiple of 8 bytes, so every tensor starts
    at an offset aligned to its itemsize (a JS ``Float32Array`` can view it in place).
    """
    meta = _check_metadata(metadata)
    header: dict[str, object] = {}
    if meta is not None:
        header[_METADATA_KEY] = meta
    buffers: list[bytes | memoryview] = []
    offset = 0
    for name in entries:
        if not isinstance(name, str):
            raise SafetensorsError(f"tensor names must be str, got {name!r}")

    def order(name: str) -> tuple[int, str]:
        entry = entries[name]
        size = DTYPE_SIZES.get(entry[0], 0) if isinstance(entry, tuple) and entry else 0
        return (-size, name)

    for name in sorted(entries, key=order):
        if name == _METADATA_KEY:
            raise SafetensorsError(f"{_METADATA_KEY!r} is reserved and cannot name a tensor")
        try:
            dtype, shape, raw = entries[name]
        except (TypeError, ValueError):
            raise SafetensorsError(
                f"tensor {name!r}: entry must be (dtype_str, shape, bytes)"
            ) from None
        if dtype not in DTYPE_SIZES:
            raise SafetensorsError(f"tensor {name!r}: unknown dtype {dtype!r}")
        shape = _check_shape(name, shape)
        view = memoryview(raw).cast("B")
        expected = math.prod(shape) * DTYPE_SIZES[dtype]
        if view.nbytes != expected:
            raise SafetensorsError(
                f"tensor {name!r}: {view.nbytes} bytes given, but shape {list(shape)} of "
                f"{dtype} needs {expected}"
            )
        header[name] = {
            "dtype": dtype,
            "shape": list(shape),
            "data_offsets": [offset, offset + expected],
        }
        buffers.append(view)
        offset += expected
    header_bytes = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    header_bytes += b" " * (-len(header_bytes) % 8)
    return b"".join([struct.pack("<Q", len(header_bytes)), header_bytes, *buffers])


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    out: dict[str, object] = {}
    for k, v in pairs:
        if k in out:
            raise SafetensorsError(f"safetensors header: duplicate key {k!r}")
        out[k] = v
    return out


def decode(
    data: bytes | bytearray | memoryview,
) -> tuple[dict[str, tuple[str, tuple[int, ...], memoryview]], dict[str, str] | None]:
    """Parse a safetensors blob.

    Returns ``(tensors, metadata)`` with ``tensors`` mapping name -> (dtype_str, shape,
    memoryview of the raw little-endian bytes, sharing ``data``), in order of their offsets,
    and ``metadata`` the ``__metadata__`` dict or None. Raises :class:`SafetensorsError`
    (a ValueError) on malformed input.
    """
    buf = memoryview(data).cast("B")
    if buf.nbytes < 8:
        raise SafetensorsError(f"safetensors data too short: {buf.nbytes} bytes, need at least 8")
    (n,) = struct.unpack_from("<Q", buf, 0)
    if n > MAX_HEADER_SIZE:
        raise SafetensorsError(f"safetensors header too large: {n} bytes (limit {MAX_HEADER_SIZE})")
    if 8 + n > buf.nbytes:
        raise SafetensorsError(
            f"safetensors header length {n} runs past the end of the data ({buf.nbytes} bytes)"
        )
    try:
        text = bytes(buf[8 : 8 + n]).decode("utf-8")
    except UnicodeDecodeError as e:
        raise SafetensorsError(f"safetensors header is not valid UTF-8: {e}") from None
    if not text.startswith("{"):
        raise SafetensorsError("safetensors header must be a JSON object starting with '{'")
    try:
        header = json.loads(text, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as e:
        raise SafetensorsError(f"safetensors header is not valid JSON: {e}") from None
    if not isinstance(header, dict):
        raise SafetensorsError("safetensors header must be a JSON object")

    metadata = _check_metadata(header.pop(_METADATA_KEY, None))
    body = buf[8 + n :]
    spans: list[tuple[int, int, str]] = []
    parsed: dict[str, tuple[str, tuple[int, ...], int, int]] = {}
    for name, info in header.items():
        if not isinstance(info, dict):
            raise SafetensorsError(f"tensor {name!r}: header entry must be an object, got {info!r}")
        extra = set(info) - {"dtype", "shape", "data_offsets"}
        missing = {"dtype", "shape", "data_offsets"} - set(info)
        if missing:
            raise SafetensorsError(f"tensor {name!r}: header entry lacks {sorted(missing)}")
        if extra:
            raise SafetensorsError(
                f"tensor {name!r}: header entry has unknown keys {sorted(extra)}"
            )
        dtype = info["dtype"]
        if dtype not in DTYPE_SIZES:
            raise SafetensorsError(f"tensor {name!r}: unknown dtype {dtype!r}")
        shape = _check_shape(name, info["shape"])
        offs = info["data_offsets"]
        if (
            not isinstance(offs, list)
            or len(offs) != 2
            or any(isinstance(o, bool) or not isinstance(o, int) or o < 0 for o in offs)
        ):
            raise SafetensorsError(
                f"tensor {name!r}: data_offsets must be [begin, end] integers, got {offs!r}"
            )
        begin, end = offs
        if end < begin:
            raise SafetensorsError(f"tensor {name!r}: data_offsets end {end} before begin {begin}")
        if end > body.nbytes:
            raise SafetensorsError(
                f"tensor {name!r}: data_offsets [{begin}, {end}] out of range of the "
                f"{body.nbytes}-byte data buffer"
            )
        expected = math.prod(shape) * DTYPE_SIZES[dtype]
        if end - begin != expected:
            raise SafetensorsError(
                f"tensor {name!r}: data_offsets span {end - begin} bytes, but shape "
                f"{list(shape)} of {dtype} needs {expected}"
            )
        parsed[name] = (dtype, shape, begin, end)
        spans.append((begin, end, name))

    # The tensors must tile the byte buffer exactly: no overlaps, no holes, nothing after.
    spans.sort()
    pos = 0
    prev = None
    for begin, end, name in spans:
        if begin < pos:
            raise SafetensorsError(f"tensor {name!r}: data_offsets overlap those of {prev!r}")
        if begin > pos:
            raise SafetensorsError(
                f"tensor {name!r}: hole in the data buffer between bytes {pos} and {begin}"
            )
        pos = end
        prev = name
    if pos != body.nbytes:
        raise SafetensorsError(
            f"safetensors data buffer has {body.nbytes} bytes, but the tensors cover {pos}"
        )

    tensors = {
        name: (parsed[name][0], parsed[name][1], body[parsed[name][2] : parsed[name][3]])
        for _, _, name in spans
    }
    return tensors, metadata


def write_file(path, entries, metadata=None) -> None:
    """Write :func:`encode` output to ``path``."""
    with open(path, "wb") as f:
        f.write(encode(entries, metadata))


def read_file(path):
    """Read ``path`` and :func:`decode` it."""
    with open(path, "rb") as f:
        return decode(f.read())


# -- distml Tensors <-> safetensors: distml.save / distml.load ----------------------------

_STRUCTURE_KEY = "distml.structure"


def _tensor_entry(t):
    return (t.dtype.safetensors_name, tuple(t.shape), t.to_bytes())


def _flatten(obj, entries, path):
    """Replace tensors in a nested dict/list by references, collecting them into entries."""
    from ._tensor import Tensor
    if isinstance(obj, Tensor):
        key = path or "tensor"
        entries[key] = _tensor_entry(obj)
        return {"__tensor__": key}
    if isinstance(obj, Mapping):
        return {"__dict__": [[k, _flatten(v, entries, f"{path}.{k}" if path else str(k))]
                             for k, v in obj.items()]}
    if isinstance(obj, (list, tuple)):
        return {"__list__": [_flatten(v, entries, f"{path}.{i}" if path else str(i))
                             for i, v in enumerate(obj)], "tuple": isinstance(obj, tuple)}
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"distml.save: cannot store a value of type {type(obj).__name__} at "
                    f"{path or 'the top level'}; use tensors, numbers, strings, lists and dicts")


def _is_flat_tensor_dict(obj):
    from ._tensor import Tensor
    return isinstance(obj, Mapping) and all(isinstance(k, str) and isinstance(v, Tensor)
                                            for k, v in obj.items())


# A file that holds a pickled object instead of safetensors (distml.save of a whole Module,
# a numpy array...): as torch.save, anything can be saved; as torch.load since 2.6, it is
# only unpickled when the caller says weights_only=False (unpickling can run code).
PICKLE_MAGIC = b"DISTMLPICKLE\n"


def _pickled(obj, why):
    import pickle
    try:
        return pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, TypeError, AttributeError) as e:
        raise TypeError(f"{why}; pickling it failed too ({e})") from None


def save(obj, f, metadata=None):
    """Save a state_dict (str -> Tensor) as a safetensors file that torch can read.

    Nested objects (an optimizer's state_dict, a checkpoint dict) are stored too: their
    tensors as safetensors entries, the rest as JSON in the header's metadata. Any other
    object (a whole Module, as `torch.save(model, f)`) is pickled; `load` then wants
    weights_only=False. A path is written atomically (temporary file, then rename), so a
    crash never leaves half a file.
    """
    entries = {}
    meta = dict(metadata or {})
    if _is_flat_tensor_dict(obj):
        for k, v in obj.items():
            entries[k] = _tensor_entry(v)
        data = encode(entries, meta or None)
    else:
        try:
            meta[_STRUCTURE_KEY] = json.dumps(_flatten(obj, entries, ""))
            data = encode(entries, meta or None)
        except TypeError as e:  # not tensors, numbers, strings, lists and dicts: pickle it
            data = PICKLE_MAGIC + _pickled(obj, e)
    if hasattr(f, "write"):
        f.write(data)
        return
    import os
    path = os.fspath(f)
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)


def _to_tensor(dtype, shape, raw, device):
    from array import array

    from ._tensor import Tensor
    from .device import get_device
    native = {"F32": "float32", "I64": "int64", "BOOL": "bool"}
    if get_device(device).backend.host_resident:
        native["F64"] = "float64"  # float64 lives on the CPU backends only
    if dtype in native:
        return Tensor.from_bytes(raw, shape, native[dtype], device)
    # other dtypes widen to the nearest one distml has (f16/f64 -> f32, ints -> i64)
    conv = {"F16": ("e", "float32"), "F64": ("d", "float32"), "I32": ("i", "int64"),
            "U8": ("B", "int64"), "I8": ("b", "int64"), "I16": ("h", "int64")}
    if dtype not in conv:
        raise SafetensorsError(f"distml.load: dtype {dtype} is not supported")
    code, target = conv[dtype]
    raw = bytes(raw)
    values = array("f", struct.unpack(f"<{len(raw) // 2}e", raw)) if code == "e" else \
        array(code, raw)
    return Tensor(values, dtype=target, device=device).reshape(tuple(shape))


def _unflatten(node, tensors):
    if isinstance(node, dict):
        if "__tensor__" in node:
            return tensors[node["__tensor__"]]
        if "__dict__" in node:
            return {k: _unflatten(v, tensors) for k, v in node["__dict__"]}
        if "__list__" in node:
            items = [_unflatten(v, tensors) for v in node["__list__"]]
            return tuple(items) if node.get("tuple") else items
    return node


def load(f, map_location=None, device=None, weights_only=True):
    """Load what `save` wrote (or any safetensors file, e.g. from safetensors.torch). A
    pickled object (a whole Module) loads only with weights_only=False, as in torch."""
    from collections import OrderedDict
    if hasattr(f, "read"):
        data = f.read()
    else:
        with open(f, "rb") as fh:
            data = fh.read()
    if data.startswith(PICKLE_MAGIC):
        if weights_only:
            raise SafetensorsError(
                "distml.load: this file holds a pickled object (distml.save of something "
                "other than tensors, numbers, strings, lists and dicts), and unpickling can "
                "run code: pass weights_only=False if you trust its source")
        import pickle
        return pickle.loads(data[len(PICKLE_MAGIC):])
    raw, meta = decode(data)
    dev = device if device is not None else map_location
    tensors = OrderedDict((k, _to_tensor(d, s, b, dev)) for k, (d, s, b) in raw.items())
    if meta and _STRUCTURE_KEY in meta:
        try:
            structure = json.loads(meta[_STRUCTURE_KEY])
        except ValueError as e:
            raise SafetensorsError(f"distml.load: bad {_STRUCTURE_KEY} metadata: {e}") from None
        return _unflatten(structure, tensors)
    return tensors
