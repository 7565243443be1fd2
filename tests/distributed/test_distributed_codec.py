"""The wire format: round trips, compression error bounds, and rejection of bad frames."""
import json
import random
import struct

import numpy as np
import pytest

import distml
from distml.distributed import codec
from distml.distributed.codec import FrameError, decode, encode

GRAD = {"round": 4, "version": 7, "batch_size": 32}


def _frame(header, payload=b""):
    raw = json.dumps(header).encode()
    return codec.MAGIC + struct.pack("<I", len(raw)) + raw + payload


def test_roundtrip_all_message_types():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((3, 4)).astype(np.float32)
    frame = encode("gradient", dict(GRAD, loss=0.5),
                   [("fc.weight", w.shape, w), ("steps", (2,), np.array([1, 2], np.int64)),
                    ("empty", (0,), np.zeros(0, np.float32))])
    got = decode(frame)
    assert got.type == "gradient" and got.fields == dict(GRAD, loss=0.5)
    np.testing.assert_array_equal(got.values("fc.weight"), w)
    assert got.values("steps").tolist() == [1, 2] and got.values("empty").shape == (0,)
    for msg_type, fields in [
        ("hello", {"token": "t", "protocol": 1, "capabilities": {"webgl": True}}),
        ("welcome", {"worker_id": "w1", "experiment": "mnist", "hyperparameters": {},
                     "version": 0}),
        ("round", {"round": 1, "version": 0, "indices": [1, 2], "batch_size": 2,
                   "deadline_s": 5.0, "kind": "gradient"}),
        ("heartbeat", {"time": 1.5}), ("bye", {}), ("error", {"message": "no"}),
    ]:
        assert decode(encode(msg_type, fields)).fields == fields


def test_distml_tensors_encode():
    t = distml.arange(6).float().reshape(2, 3)
    got = decode(encode("gradient", GRAD, [("t", t.shape, t)])).values("t")
    assert got.tolist() == t.tolist()


@pytest.mark.parametrize("compression,bound", [("float16", 1e-3), ("int8", 1 / 127)])
def test_compression_error_is_bounded(compression, bound):
    w = np.random.default_rng(1).standard_normal(10000).astype(np.float32)
    frame = encode("gradient", GRAD, [("w", w.shape, w)], compression=compression)
    assert len(frame) < w.nbytes * (0.6 if compression == "float16" else 0.3)
    err = np.abs(decode(frame).values("w") - w).max()
    assert err <= bound * np.abs(w).max()


BAD = [
    (b"", "bad magic"),
    (b"XXXX" + b"\0" * 8, "bad magic"),
    (codec.MAGIC + struct.pack("<I", 50) + b"{}", "truncated"),
    (codec.MAGIC + struct.pack("<I", 1 << 30), "exceeds the limit"),
    (codec.MAGIC + struct.pack("<I", 3) + b"{x}", "bad header JSON"),
    (codec.MAGIC + struct.pack("<I", 2) + b"[]", "JSON object"),
    (codec.MAGIC + struct.pack("<I", 200000) + b"[" * 100000 + b"]" * 100000, "bad header"),
    (_frame({"type": "launch"}), "unknown message type"),
    (_frame({"type": "gradient", "round": 1, "version": 1}), "missing field 'batch_size'"),
    (_frame(dict(GRAD, type="gradient", extra=1)), "unknown field"),
    (_frame(dict(GRAD, type="gradient", round="1")), "field 'round' has type str"),
    (_frame(dict(GRAD, type="gradient", batch_size=True)), "field 'batch_size'"),
    (_frame(dict(GRAD, type="gradient", loss=float("nan"))), "bad header JSON"),
    (_frame(dict(GRAD, type="gradient", tensors=[{"name": "w", "dtype": "F64", "shape": [1],
                                                  "offset": 0, "nbytes": 8}]), b"\0" * 8),
     "unknown dtype"),
    (_frame(dict(GRAD, type="gradient", tensors=[{"name": "w", "dtype": "F32", "shape": [2],
                                                  "offset": 0, "nbytes": 4}]), b"\0" * 4),
     "do not hold shape"),
    (_frame(dict(GRAD, type="gradient", tensors=[{"name": "w", "dtype": "F32", "shape": [2],
                                                  "offset": 0, "nbytes": 8}]), b"\0" * 4),
     "payload truncated"),
    (_frame(dict(GRAD, type="gradient", tensors=[{"name": "w", "dtype": "F32", "shape": [1],
                                                  "offset": 0, "nbytes": 4}]), b"\0" * 9),
     "unexpected bytes"),
    (_frame(dict(GRAD, type="gradient", tensors=[{"name": "w", "dtype": "F32", "shape": [-1],
                                                  "offset": 0, "nbytes": 4}]), b"\0" * 4),
     "non-negative"),
    (_frame(dict(GRAD, type="gradient", tensors=[{"name": "w", "dtype": "I8", "shape": [1],
                                                  "offset": 0, "nbytes": 1}]), b"\0"),
     "positive scale"),
    (_frame(dict(GRAD, type="gradient", tensors=[
        {"name": "w", "dtype": "F32", "shape": [1], "offset": 0, "nbytes": 4},
        {"name": "w", "dtype": "F32", "shape": [1], "offset": 4, "nbytes": 4}]), b"\0" * 8),
     "appears twice"),
]


@pytest.mark.parametrize("frame,message", BAD, ids=[m for _, m in BAD])
def test_bad_frames_rejected(frame, message):
    with pytest.raises(FrameError, match=message):
        decode(frame)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_payload_rejected(value):
    w = np.array([1.0, value], np.float32)
    frame = encode("gradient", GRAD, [("w", (2,), np.array([1.0, 2.0]))])
    frame = frame[:-8] + w.tobytes()
    with pytest.raises(FrameError, match="NaN or Inf"):
        decode(frame)


def test_size_limit_and_type():
    frame = encode("gradient", GRAD, [("w", (1000,), np.zeros(1000))])
    with pytest.raises(FrameError, match="exceeds the limit"):
        decode(frame, max_size=1000)
    with pytest.raises(FrameError, match="binary frame"):
        decode("text frame")


def test_mutated_frames_never_crash():
    """Bounded fuzz: random byte flips, truncations and splices either decode to a valid
    frame or raise FrameError; nothing else escapes."""
    rng = random.Random(0)
    base = encode("gradient", GRAD, [("w", (16,), np.arange(16.0)), ("b", (2,), [1.0, 2.0])])
    for _ in range(3000):
        f = bytearray(base)
        op = rng.randrange(4)
        if op == 0:
            for _ in range(rng.randint(1, 4)):
                f[rng.randrange(len(f))] = rng.randrange(256)
        elif op == 1:
            f = f[:rng.randrange(len(f))]
        elif op == 2:
            i = rng.randrange(len(f))
            f[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        else:
            f = bytearray(rng.randbytes(rng.randint(0, 64)))
        try:
            decode(bytes(f))
        except FrameError:
            pass


def test_int64_tensor_encodes_without_numpy(monkeypatch):
    """A worker without numpy (the browser) encodes an int64 Tensor as integers: it used to
    read every Tensor back as float32 and then fail to pack floats as int64."""
    import distml
    from distml.distributed import codec
    monkeypatch.setattr(codec, "_numpy", lambda: None)
    t = distml.tensor([[3, -2], [2 ** 40, 0]])
    frame = codec.decode(codec.encode("gradient", {"round": 1, "version": 1, "batch_size": 1},
                                      [("n", (2, 2), t)]))
    assert list(frame.values("n")) == [3, -2, 2 ** 40, 0]


@pytest.mark.parametrize("compression", [None, "float16", "int8"])
def test_stdlib_path_matches_numpy_byte_for_byte(monkeypatch, compression):
    """The browser (no numpy) and the server encode the same frame, rounding ties included
    (the int8 values below sit exactly on .5 steps of the scale), and decode it alike."""
    w = np.array([127.0, -127.0, 0.5, 1.5, 2.5, -0.5, -2.5, 3.25, 1e-8, 0.0], np.float32)
    t = distml.tensor(w)
    with_numpy = encode("gradient", GRAD, [("w", w.shape, w)], compression)
    monkeypatch.setattr(codec, "_numpy", lambda: None)
    for values in (t, list(w.tolist())):  # a Tensor (read back as array('f')) and a list
        assert encode("gradient", GRAD, [("w", w.shape, values)], compression) == with_numpy
    without = list(decode(with_numpy).values("w"))
    monkeypatch.undo()
    assert without == decode(with_numpy).values("w").tolist()


def test_stdlib_finiteness_check_rejects_inf_and_nan(monkeypatch):
    monkeypatch.setattr(codec, "_numpy", lambda: None)
    for bad in (float("inf"), float("-inf"), float("nan")):
        for compression in (None, "float16"):
            frame = encode("gradient", GRAD, [("w", (3,), [1.0, bad, -1.0])], compression)
            with pytest.raises(FrameError, match="w"):
                decode(frame)
    big = [3.0e38] * 8 + [-3.0e38] * 3  # finite float32 values whose sum is still finite
    decode(encode("gradient", GRAD, [("w", (11,), big)]))
