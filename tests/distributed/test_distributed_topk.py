"""Top-k sparsified gradients with error feedback (compression "topk:F").

The wire form round-trips (numpy and pure Python, as in the browser); error feedback
loses nothing (everything sent plus the residual equals the sum of the true gradients);
the server trains under topk; malformed sparse tensors are refused with a message naming
the problem and their samples go to other workers.
"""
import json
import math
import struct

import numpy as np
import pytest

from distml.distributed import codec, topk
from distml.distributed.experiment import state_arrays
from distml.distributed.worker import Worker

from test_distributed_server import (
    new_worker, scenario, start_server, train, train_beside_a_worker_without_numpy)


@pytest.fixture(params=["numpy", "pure"])
def backend(request, monkeypatch):
    """Run the codec and the error feedback with numpy, or without (the browser's path)."""
    if request.param == "pure":
        monkeypatch.setattr(codec, "_numpy", lambda: None)
        monkeypatch.setattr(topk, "_numpy", lambda: None)
    return request.param


def _dense(frame, name):
    return np.asarray(frame.values(name), dtype=np.float64).reshape(frame.tensors[name][0])


def test_parse_compression():
    assert codec.parse_compression("none") is None
    assert codec.parse_compression("topk:0.01") == "topk:0.01"
    assert codec.topk_fraction("topk:0.25") == 0.25 and codec.topk_fraction("int8") is None
    for bad in ("topk:0", "topk:1.5", "topk:x", "topk:nan", "gzip"):
        with pytest.raises(ValueError, match="compression|fraction"):
            codec.parse_compression(bad)


def test_round_trip(backend):
    rng = np.random.default_rng(0)
    g = rng.standard_normal((6, 5)).astype(np.float32)
    ef = topk.ErrorFeedback(0.2)
    sparse = ef.compress("w", g if backend == "numpy" else g.tolist())
    assert len(sparse.indices) == 6 == topk.k_of(0.2, 30)
    bias = [1.5, -2.0]
    frame = codec.encode("gradient", {"round": 1, "version": 0, "batch_size": 4},
                         [("w", (6, 5), sparse), ("b", (2,), bias)], "topk:0.2")
    table = json.loads(frame[8:8 + struct.unpack("<I", frame[4:8])[0]])["tensors"]
    assert table[0]["k"] == 6 and table[0]["nbytes"] == 48  # 6 u32 indices + 6 f32 values
    assert "k" not in table[1] and table[1]["dtype"] == "F32"  # unsparsified: float32
    got = codec.decode(frame)
    dense = _dense(got, "w")
    top = np.argsort(-np.abs(g).ravel())[:6]
    want = np.zeros(30)
    want[top] = g.ravel()[top]
    np.testing.assert_array_equal(dense.ravel(), want)
    np.testing.assert_array_equal(_dense(got, "b"), bias)
    assert got.tensors["w"][1] == "F32"  # the server sees a dense float32 tensor


@pytest.mark.parametrize("fraction", [0.05, 0.3, 1.0])
def test_error_feedback_loses_nothing(backend, fraction):
    rng = np.random.default_rng(1)
    ef = topk.ErrorFeedback(fraction)
    shape = (7, 9)
    true_sum, sent_sum = np.zeros(63), np.zeros(63)
    for step in range(6):
        g = rng.standard_normal(shape).astype(np.float32) * (10.0 ** (step % 3 - 1))
        true_sum += g.ravel().astype(np.float64)
        sparse = ef.compress("w", g if backend == "numpy" else g.tolist())
        frame = codec.decode(codec.encode("gradient", {"round": step, "version": 0,
                                                       "batch_size": 1},
                                          [("w", shape, sparse)], f"topk:{fraction}"))
        sent_sum += _dense(frame, "w").ravel()
        assert len(sparse.indices) == math.ceil(fraction * 63)
        residual = np.asarray(ef.residual["w"], dtype=np.float64)
        np.testing.assert_allclose(sent_sum + residual, true_sum, rtol=0, atol=1e-12)
    if fraction == 1.0:  # all sent: only float32 rounding stays behind
        assert np.abs(residual).max() < 1e-6


def test_numpy_and_pure_python_pick_the_same_entries(monkeypatch):
    rng = np.random.default_rng(2)
    grads = [rng.standard_normal(40).astype(np.float32) for _ in range(3)]
    fast, slow = topk.ErrorFeedback(0.1), topk.ErrorFeedback(0.1)
    picked = []
    for g in grads:
        a = fast.compress("w", g)
        monkeypatch.setattr(topk, "_numpy", lambda: None)
        b = slow.compress("w", g.tolist())
        monkeypatch.undo()
        assert list(a.indices) == list(b.indices)
        np.testing.assert_array_equal(np.asarray(a.values), np.asarray(b.values))
        picked.append(list(a.indices))
    assert picked[0] != picked[1]


def _mangle(frame, how):
    """A valid topk gradient frame made malformed: its first sparse tensor gets an index
    out of range, a repeated index, or a k that does not match its bytes."""
    hlen = struct.unpack("<I", frame[4:8])[0]
    header = json.loads(frame[8:8 + hlen])
    payload = bytearray(frame[8 + hlen:])
    entry = next(e for e in header["tensors"] if "k" in e)
    at = entry["offset"]
    if how == "out_of_range":
        struct.pack_into("<I", payload, at, math.prod(entry["shape"]))
    elif how == "duplicate":
        struct.pack_into("<I", payload, at + 4, struct.unpack_from("<I", payload, at)[0])
    else:  # wrong count
        entry["k"] += 1
    raw = json.dumps(header, separators=(",", ":")).encode()
    return codec.MAGIC + struct.pack("<I", len(raw)) + raw + bytes(payload)


MESSAGES = {"out_of_range": "sparse index 40 out of range for 40 values",
            "duplicate": "repeats (indices must be strictly ascending)",
            "wrong_count": "do not hold k=5 indices and values"}


@pytest.mark.parametrize("how", sorted(MESSAGES))
def test_malformed_sparse_tensor_refused(backend, how):
    ef = topk.ErrorFeedback(0.1)
    g = np.arange(40, dtype=np.float32) - 20
    frame = codec.encode("gradient", {"round": 1, "version": 0, "batch_size": 1},
                         [("w", (8, 5), ef.compress("w", g))], "topk:0.1")
    codec.decode(frame)
    with pytest.raises(codec.FrameError, match=MESSAGES[how].replace("(", r"\(")
                       .replace(")", r"\)")):
        codec.decode(_mangle(frame, how))


def test_sparse_entry_checks_k():
    frame = codec.encode("gradient", {"round": 1, "version": 0, "batch_size": 1},
                         [("w", (4,), codec.Sparse([0], [1.0]))])
    hlen = struct.unpack("<I", frame[4:8])[0]
    header = json.loads(frame[8:8 + hlen])
    for k, dtype in ((5, "F32"), (1, "F16"), (True, "F32")):
        header["tensors"][0].update(k=k, dtype=dtype)
        raw = json.dumps(header).encode()
        with pytest.raises(codec.FrameError, match="k must be an int in"):
            codec.decode(codec.MAGIC + struct.pack("<I", len(raw)) + raw + frame[8 + hlen:])


# -- through the server ---------------------------------------------------------------------

def test_server_trains_under_topk():
    rounds = 16

    async def main():
        orch, transport = await start_server(max_rounds=rounds, compression="topk:0.1",
                                             overrides={"min_workers": 2, "epochs": 4})
        workers = [await new_worker(transport.url) for _ in range(2)]
        await train(orch, transport, workers)
        return orch, workers

    orch, workers = scenario(main())
    assert workers[0].hyperparameters["compression"] == "topk:0.1"
    assert orch.round == rounds and orch.stats["bad_frames"] == 0
    assert all(np.isfinite(v).all() for v in state_arrays(orch.model).values())
    for w in workers:  # each keeps a residual per parameter
        assert set(w._feedback.residual) == {k for k, _ in w.model.named_parameters()}
    losses = [h["loss"] for h in orch.history]
    assert sum(losses[-4:]) < 0.8 * sum(losses[:4]), losses


class MangledWorker(Worker):
    how = "duplicate"

    async def _send(self, msg_type, fields=None, tensors=None, compression=None):
        if msg_type != "gradient":
            return await super()._send(msg_type, fields, tensors, compression)
        frame = codec.encode(msg_type, fields, tensors, compression)
        await self.transport.send(_mangle(frame, self.how))


@pytest.mark.parametrize("how", sorted(MESSAGES))
def test_malformed_topk_frame_refused_and_samples_reassigned(how):
    rounds = 3

    async def main():
        orch, transport = await start_server(max_rounds=rounds, compression="topk:0.1",
                                             overrides={"min_workers": 3})
        workers = [await new_worker(transport.url) for _ in range(2)]
        bad = type("Bad", (MangledWorker,), {"how": how})
        workers.append(await new_worker(transport.url, bad))
        results = await train(orch, transport, workers)
        return orch, workers, results

    orch, workers, results = scenario(main())
    assert results == ["training finished"] * 3  # the bad worker stays connected
    assert [c for c, _ in workers[2].errors] == ["bad_frame"] * rounds
    assert all("sparse" in m or "k=" in m for _, m in workers[2].errors), workers[2].errors
    assert workers[0].errors == workers[1].errors == []
    assert orch.stats["bad_frames"] == rounds
    assert orch.stats["reassigned_samples"] == 8 * rounds
    assert [h["samples"] for h in orch.history] == [24] * rounds
    assert all(np.isfinite(v).all() for v in state_arrays(orch.model).values())


def test_worker_without_numpy_under_topk():
    """The browser's code path (no numpy) sparsifies and feeds back too."""
    rounds = 4
    orch, code, out = train_beside_a_worker_without_numpy(rounds, compression="topk:0.2")
    assert code == 0, out
    assert "backend python" in out
    assert [h["workers"] for h in orch.history] == [2] * rounds
    assert orch.stats["bad_frames"] == 0
    assert all(np.isfinite(v).all() for v in state_arrays(orch.model).values())


def test_server_flag_names_the_problem(capsys):
    from server.__main__ import add_arguments
    from server.cli import ArgumentParser
    ap = ArgumentParser(prog="server")
    add_arguments(ap)
    assert ap.parse_args(["--compression", "topk:0.01"]).compression == "topk:0.01"
    with pytest.raises(SystemExit) as e:
        ap.parse_args(["--compression", "topk:2"])
    assert e.value.code == 2
    assert "the top-k fraction must be in (0, 1]" in capsys.readouterr().err
