"""Binary websocket frames: a length-prefixed JSON header, then raw tensor payloads.

    frame   = MAGIC (4 bytes, b"DML1") | header length (u32, little-endian) | header | payload
    header  = UTF-8 JSON object: {"type": ..., <fields of that type>, "tensors": [...]}
    tensors = [{"name", "dtype" ("F32" | "F16" | "I8" | "I64"), "shape", "offset", "nbytes",
                "scale" (I8 only: value = int8 * scale),
                "k" (sparse F32 only: k u32 indices, ascending, then k f32 values)}],
              payloads packed in order

Decoding checks everything before anything is used: the magic, sizes, JSON, the message
type and its fields (unknown fields are rejected, so a typo never passes silently), the
tensor table (known dtype, sizes that match the shape, in bounds, contiguous, no gaps;
sparse indices in range, ascending, no duplicates) and, for float payloads, that every
value is finite. A sparse (top-k) tensor is decoded to a dense F32 one. A bad frame
raises FrameError with a message naming the problem; nothing partial is returned.
See docs/protocol.md.
"""
import json
import math
import struct
import sys
from array import array

from .._tensor import Tensor
from .protocol import DEFAULT_MAX_FRAME, MAGIC, MAX_HEADER, PROTOCOL_VERSION  # noqa: F401

_BIG_ENDIAN = sys.byteorder != "little"
ITEMSIZE = {"F32": 4, "F16": 2, "I8": 1, "I64": 8}

# message type -> {field: (python types, required)}
_INT, _NUM, _STR = (int,), (int, float), (str,)
SCHEMAS = {
    "hello": {"token": (_STR, True), "protocol": (_INT, True), "capabilities": ((dict,), True),
              "name": (_STR, False)},
    "welcome": {"worker_id": (_STR, True), "experiment": (_STR, True),
                "hyperparameters": ((dict,), True), "version": (_INT, True)},
    "round": {"round": (_INT, True), "version": (_INT, True), "indices": ((list,), True),
              "batch_size": (_INT, True), "deadline_s": (_NUM, True),
              "kind": (_STR, True), "local_steps": (_INT, False), "lr": (_NUM, False)},
    "gradient": {"round": (_INT, True), "version": (_INT, True), "batch_size": (_INT, True),
                 "loss": (_NUM, False), "samples_per_s": (_NUM, False)},
    "heartbeat": {"time": (_NUM, True), "state": (_STR, False)},
    "bye": {"reason": (_STR, False)},
    "error": {"message": (_STR, True), "code": (_STR, False)},
}


class FrameError(ValueError):
    """A frame that must be rejected; the message names the problem."""


# -- encoding -----------------------------------------------------------------------------

def _payload(values, dtype):
    """Raw little-endian bytes (and the int8 scale) for a flat sequence of numbers, an
    `array`, a numpy array or a distml Tensor."""
    if isinstance(values, Tensor):  # read its values back once
        if dtype == "I64":  # integers stay integers (BatchNorm's num_batches_tracked)
            values = values.detach().reshape(-1).tolist()
        else:
            values = values.detach().float().numpy() if _has_numpy() else \
                array("f", values.float().to_bytes())
    np = _numpy()
    if np is not None:
        arr = np.asarray(values, dtype=np.float64 if dtype != "I64" else np.int64).ravel()
        if dtype == "F32":
            return arr.astype("<f4").tobytes(), None
        if dtype == "F16":
            return arr.astype("<f2").tobytes(), None
        if dtype == "I64":
            return arr.astype("<i8").tobytes(), None
        peak = float(np.abs(arr).max()) if arr.size else 0.0
        scale = peak / 127.0 if peak > 0 else 1.0
        return np.clip(np.rint(arr / scale), -127, 127).astype("i1").tobytes(), scale
    # an array("f") (a Tensor's values without numpy) is used as it is: no list of floats
    flat = values if isinstance(values, array) else list(values)
    if dtype == "F32":
        is_f32 = isinstance(flat, array) and flat.typecode == "f"
        return (flat if is_f32 else array("f", flat)).tobytes(), None
    if dtype == "F16":
        return struct.pack(f"<{len(flat)}e", *flat), None
    if dtype == "I64":
        return array("q", flat).tobytes(), None
    peak = max(map(abs, flat), default=0.0)
    scale = peak / 127.0 if peak > 0 else 1.0
    # |v| / scale <= 127 up to rounding, so round() stays in int8's range: no clamp
    # (maps of C functions: 1.6x faster than a comprehension on CPython)
    return array("b", map(round, map(scale.__rtruediv__, flat))).tobytes(), scale


def parse_compression(text):
    """None, "float16", "int8" or "topk:F" (0 < F <= 1) from a flag's text; ValueError
    naming the problem otherwise. "none" is None."""
    if text in (None, "none"):
        return None
    if text in ("float16", "int8"):
        return text
    if isinstance(text, str) and text.startswith("topk:"):
        try:
            fraction = float(text[5:])
        except ValueError:
            fraction = float("nan")
        if 0 < fraction <= 1:
            return text
        raise ValueError(f"compression {text!r}: the top-k fraction must be in (0, 1]")
    raise ValueError(f"unknown compression {text!r} (none, float16, int8 or topk:F)")


def topk_fraction(compression):
    """The F of "topk:F", else None."""
    if isinstance(compression, str) and compression.startswith("topk:"):
        return float(compression[5:])
    return None


class Sparse:
    """The k largest-magnitude entries of a flat tensor: ascending `indices` and their
    `values` (sequences of equal length). encode() sends it as a sparse F32 tensor."""
    __slots__ = ("indices", "values")

    def __init__(self, indices, values):
        self.indices, self.values = indices, values


def encode(msg_type, fields=None, tensors=None, compression=None):
    """Build a frame. tensors: list of (name, shape, values); compression None | "float16"
    | "int8" applies to float tensors (int64 tensors are sent as they are); a Sparse value
    is always sent sparse (k indices + k float32 values), which is what "topk:F" means on
    the wire: the worker's error feedback (topk.py) picks the entries, and the tensors it
    does not sparsify (BatchNorm statistics) go as float32."""
    fields = dict(fields or {})
    _check_fields(msg_type, fields)
    if topk_fraction(compression) is not None:
        compression = None
    table, chunks, offset = [], [], 0
    for name, shape, values in tensors or ():
        shape = [int(s) for s in shape]
        if isinstance(values, Sparse):
            entry, data = _sparse_entry(name, shape, values, offset)
            table.append(entry)
            chunks.append(data)
            offset += len(data)
            continue
        is_int = getattr(values, "dtype", None) is not None and \
            str(getattr(values, "dtype")).endswith("int64")
        dtype = "I64" if is_int else {None: "F32", "float16": "F16", "int8": "I8"}[compression]
        data, scale = _payload(values, dtype)
        if len(data) != math.prod(shape) * ITEMSIZE[dtype]:
            raise FrameError(f"tensor {name!r}: {len(data) // ITEMSIZE[dtype]} values do not "
                             f"fit shape {shape}")
        entry = {"name": name, "dtype": dtype, "shape": shape, "offset": offset,
                 "nbytes": len(data)}
        if scale is not None:
            entry["scale"] = scale
        table.append(entry)
        chunks.append(data)
        offset += len(data)
    header = dict(fields, type=msg_type, tensors=table)
    raw = json.dumps(header, separators=(",", ":"), allow_nan=False).encode()
    return b"".join([MAGIC, struct.pack("<I", len(raw)), raw] + chunks)


def _sparse_entry(name, shape, sparse, offset):
    k = len(sparse.indices)
    if len(sparse.values) != k:
        raise FrameError(f"tensor {name!r}: {k} indices but {len(sparse.values)} values")
    np = _numpy()
    if np is not None:
        data = np.asarray(sparse.indices).astype("<u4").tobytes() + \
            np.asarray(sparse.values).astype("<f4").tobytes()
    else:
        data = _le(array("I", sparse.indices)) + _le(array("f", sparse.values))
    return ({"name": name, "dtype": "F32", "shape": shape, "offset": offset,
             "nbytes": len(data), "k": k}, data)


def _le(arr):
    """Little-endian bytes of an array (every platform we run on is, but say so)."""
    if _BIG_ENDIAN:
        arr.byteswap()
    return arr.tobytes()


# -- decoding -----------------------------------------------------------------------------

class Frame:
    """A decoded frame: .type, .fields (dict), .tensors (name -> (shape, dtype, bytes,
    scale)); values() gives a tensor's numbers as float32/int64 (numpy array or array)."""

    def __init__(self, msg_type, fields, tensors):
        self.type, self.fields, self.tensors = msg_type, fields, tensors

    def values(self, name):
        shape, dtype, data, scale = self.tensors[name]
        np = _numpy()
        if np is not None:
            code = {"F32": "<f4", "F16": "<f2", "I8": "i1", "I64": "<i8"}[dtype]
            arr = np.frombuffer(data, dtype=code)
            if dtype == "I64":
                return arr.astype(np.int64).reshape(shape)
            arr = arr.astype(np.float32)
            return (arr * np.float32(scale) if dtype == "I8" else arr).reshape(shape)
        if dtype == "F32":
            return array("f", data)
        if dtype == "I64":
            return array("q", data)
        if dtype == "F16":
            return array("f", struct.unpack(f"<{len(data) // 2}e", data))
        return array("f", map(scale.__mul__, array("b", data)))


def decode(frame, max_size=DEFAULT_MAX_FRAME, check_finite=True):
    if not isinstance(frame, (bytes, bytearray, memoryview)):
        raise FrameError(f"expected a binary frame, got {type(frame).__name__}")
    frame = bytes(frame)
    if len(frame) > max_size:
        raise FrameError(f"frame of {len(frame)} bytes exceeds the limit of {max_size}")
    if len(frame) < 8 or frame[:4] != MAGIC:
        raise FrameError("not a distml frame (bad magic or truncated before the header)")
    (hlen,) = struct.unpack("<I", frame[4:8])
    if hlen > MAX_HEADER:
        raise FrameError(f"header of {hlen} bytes exceeds the limit of {MAX_HEADER}")
    if 8 + hlen > len(frame):
        raise FrameError(f"truncated frame: header says {hlen} bytes, "
                         f"{len(frame) - 8} available")
    try:
        header = json.loads(frame[8:8 + hlen].decode("utf-8"),
                            parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise FrameError(f"bad header JSON: {type(e).__name__}: {e}") from None
    if not isinstance(header, dict):
        raise FrameError("header must be a JSON object")
    msg_type = header.pop("type", None)
    table = header.pop("tensors", [])
    if msg_type not in SCHEMAS:
        raise FrameError(f"unknown message type {msg_type!r}")
    _check_fields(msg_type, header)
    payload = memoryview(frame)[8 + hlen:]
    tensors = _check_table(table, payload, check_finite)
    return Frame(msg_type, header, tensors)


def _reject_constant(name):
    raise ValueError(f"{name} is not allowed in a header")


def _check_fields(msg_type, fields):
    if msg_type not in SCHEMAS:
        raise FrameError(f"unknown message type {msg_type!r}")
    schema = SCHEMAS[msg_type]
    unknown = sorted(set(fields) - set(schema))
    if unknown:
        raise FrameError(f"{msg_type}: unknown field(s) {', '.join(unknown)}")
    for name, (types, required) in schema.items():
        if name not in fields:
            if required:
                raise FrameError(f"{msg_type}: missing field {name!r}")
            continue
        value = fields[name]
        if isinstance(value, bool) or not isinstance(value, types):
            raise FrameError(f"{msg_type}: field {name!r} has type {type(value).__name__}, "
                             f"expected {' or '.join(t.__name__ for t in types)}")
        if isinstance(value, float) and not math.isfinite(value):
            raise FrameError(f"{msg_type}: field {name!r} is not finite")


def _check_table(table, payload, check_finite):
    if not isinstance(table, list):
        raise FrameError("'tensors' must be a list")
    tensors, expected = {}, 0
    for i, entry in enumerate(table):
        if not isinstance(entry, dict):
            raise FrameError(f"tensor entry {i} is not an object")
        allowed = {"name", "dtype", "shape", "offset", "nbytes", "scale", "k"}
        if set(entry) - allowed:
            raise FrameError(f"tensor entry {i}: unknown field(s) "
                             f"{', '.join(sorted(set(entry) - allowed))}")
        name, dtype, shape = entry.get("name"), entry.get("dtype"), entry.get("shape")
        offset, nbytes = entry.get("offset"), entry.get("nbytes")
        if not isinstance(name, str) or not name:
            raise FrameError(f"tensor entry {i}: missing or empty name")
        if name in tensors:
            raise FrameError(f"tensor {name!r} appears twice")
        if dtype not in ITEMSIZE:
            raise FrameError(f"tensor {name!r}: unknown dtype {dtype!r}")
        if not isinstance(shape, list) or not all(
                isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in shape):
            raise FrameError(f"tensor {name!r}: shape must be a list of non-negative ints")
        if offset != expected or not isinstance(nbytes, int) or isinstance(nbytes, bool):
            raise FrameError(f"tensor {name!r}: payloads must be packed in order "
                             f"(offset {offset!r}, expected {expected})")
        k = entry.get("k")
        if k is not None:
            if dtype != "F32" or not isinstance(k, int) or isinstance(k, bool) or \
                    not 0 <= k <= math.prod(shape):
                raise FrameError(f"tensor {name!r}: k must be an int in [0, "
                                 f"{math.prod(shape)}] on an F32 tensor, got {k!r}")
            if nbytes != 8 * k:
                raise FrameError(f"tensor {name!r}: {nbytes} bytes do not hold k={k} "
                                 f"indices and values ({8 * k} bytes)")
        elif nbytes != math.prod(shape) * ITEMSIZE[dtype]:
            raise FrameError(f"tensor {name!r}: {nbytes} bytes do not hold shape {shape} "
                             f"of {dtype}")
        if offset + nbytes > len(payload):
            raise FrameError(f"tensor {name!r}: payload truncated ({len(payload)} bytes, "
                             f"needs {offset + nbytes})")
        scale = entry.get("scale")
        if dtype == "I8":
            if not isinstance(scale, (int, float)) or isinstance(scale, bool) or \
                    not math.isfinite(scale) or scale <= 0:
                raise FrameError(f"tensor {name!r}: int8 needs a finite positive scale")
        elif scale is not None:
            raise FrameError(f"tensor {name!r}: scale is only for I8 tensors")
        data = bytes(payload[offset:offset + nbytes])
        if k is not None:
            data = _densify(name, data, k, math.prod(shape))
        if check_finite and dtype in ("F32", "F16") and not _all_finite(data, dtype):
            raise FrameError(f"tensor {name!r} contains NaN or Inf")
        tensors[name] = (tuple(shape), dtype, data, scale)
        expected = offset + nbytes
    if expected != len(payload):
        raise FrameError(f"{len(payload) - expected} unexpected bytes after the last tensor")
    return tensors


def _densify(name, data, k, numel):
    """float32 bytes of the dense tensor a sparse payload describes, after checking that
    its indices are in range and strictly ascending (so none repeats)."""
    np = _numpy()
    if np is not None:
        idx = np.frombuffer(data[:4 * k], dtype="<u4").astype(np.int64)
        bad_range = np.flatnonzero(idx >= numel)
        steps = np.diff(idx)
        bad_order = np.flatnonzero(steps <= 0)
    else:
        idx = array("I", data[:4 * k])
        if _BIG_ENDIAN:
            idx.byteswap()
        bad_range = [i for i, j in enumerate(idx) if j >= numel]
        bad_order = [i for i in range(k - 1) if idx[i + 1] <= idx[i]]
    if len(bad_range):
        i = int(bad_range[0])
        raise FrameError(f"tensor {name!r}: sparse index {int(idx[i])} out of range for "
                         f"{numel} values")
    if len(bad_order):
        i = int(bad_order[0])
        what = "repeats" if idx[i + 1] == idx[i] else "is out of order"
        raise FrameError(f"tensor {name!r}: sparse index {int(idx[i + 1])} {what} "
                         f"(indices must be strictly ascending)")
    if np is not None:
        dense = np.zeros(numel, dtype="<f4")
        dense[idx] = np.frombuffer(data[4 * k:], dtype="<f4")
        return dense.tobytes()
    vals = array("f", data[4 * k:])
    dense = array("f", bytes(4 * numel))
    if _BIG_ENDIAN:
        vals.byteswap()
    for j, v in zip(idx, vals):
        dense[j] = v
    return _le(dense)


def _all_finite(data, dtype):
    np = _numpy()
    if np is not None:
        return bool(np.isfinite(np.frombuffer(data, dtype="<f4" if dtype == "F32"
                                              else "<f2")).all())
    values = array("f", data) if dtype == "F32" else struct.unpack(f"<{len(data) // 2}e", data)
    # float32/16 values summed in float64 cannot overflow, so the sum is finite exactly
    # when every value is (inf - inf is nan): one C loop instead of a Python one
    return math.isfinite(sum(values))


def _numpy():
    try:
        import numpy
        return numpy
    except ImportError:
        return None


def _has_numpy():
    return _numpy() is not None
