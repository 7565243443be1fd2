"""Binary websocket frames: a length-prefixed JSON header, then raw tensor payloads.

    frame   = MAGIC (4 bytes, b"DML1") | header length (u32, little-endian) | header | payload
    header  = UTF-8 JSON object: {"type": ..., <fields of that type>, "tensors": [...]}
    tensors = [{"name", "dtype" ("F32" | "F16" | "I8" | "I64"), "shape", "offset", "nbytes",
                "scale" (I8 only: value = int8 * scale)}], payloads packed in order

Decoding checks everything before anything is used: the magic, sizes, JSON, the message
type and its fields (unknown fields are rejected, so a typo never passes silently), the
tensor table (known dtype, sizes that match the shape, in bounds, contiguous, no gaps)
and, for float payloads, that every value is finite. A bad frame raises FrameError with
a message naming the problem; nothing partial is returned. See docs/protocol.md.
"""
import json
import math
import struct
from array import array

from .._tensor import Tensor
from .protocol import DEFAULT_MAX_FRAME, MAGIC, MAX_HEADER, PROTOCOL_VERSION  # noqa: F401

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
    flat = list(values)
    if dtype == "F32":
        return array("f", flat).tobytes(), None
    if dtype == "F16":
        return struct.pack(f"<{len(flat)}e", *flat), None
    if dtype == "I64":
        return array("q", flat).tobytes(), None
    peak = max((abs(v) for v in flat), default=0.0)
    scale = peak / 127.0 if peak > 0 else 1.0
    return array("b", [max(-127, min(127, round(v / scale))) for v in flat]).tobytes(), scale


def encode(msg_type, fields=None, tensors=None, compression=None):
    """Build a frame. tensors: list of (name, shape, values); compression None | "float16"
    | "int8" applies to float tensors (int64 tensors are sent as they are)."""
    fields = dict(fields or {})
    _check_fields(msg_type, fields)
    table, chunks, offset = [], [], 0
    for name, shape, values in tensors or ():
        is_int = getattr(values, "dtype", None) is not None and \
            str(getattr(values, "dtype")).endswith("int64")
        dtype = "I64" if is_int else {None: "F32", "float16": "F16", "int8": "I8"}[compression]
        data, scale = _payload(values, dtype)
        shape = [int(s) for s in shape]
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
        return array("f", (v * scale for v in array("b", data)))


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
        allowed = {"name", "dtype", "shape", "offset", "nbytes", "scale"}
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
        if nbytes != math.prod(shape) * ITEMSIZE[dtype]:
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
        if check_finite and dtype in ("F32", "F16") and not _all_finite(data, dtype):
            raise FrameError(f"tensor {name!r} contains NaN or Inf")
        tensors[name] = (tuple(shape), dtype, data, scale)
        expected = offset + nbytes
    if expected != len(payload):
        raise FrameError(f"{len(payload) - expected} unexpected bytes after the last tensor")
    return tensors


def _all_finite(data, dtype):
    np = _numpy()
    if np is not None:
        return bool(np.isfinite(np.frombuffer(data, dtype="<f4" if dtype == "F32"
                                              else "<f2")).all())
    values = array("f", data) if dtype == "F32" else struct.unpack(f"<{len(data) // 2}e", data)
    return all(math.isfinite(v) for v in values)


def _numpy():
    try:
        import numpy
        return numpy
    except ImportError:
        return None


def _has_numpy():
    return _numpy() is not None
