"""safetensors codec (distml.serialization): spec conformance and interop with safetensors."""

import json
import struct

import pytest

from distml.serialization import MAX_HEADER_SIZE, decode, encode, read_file, write_file

torch = pytest.importorskip("torch")
st_torch = pytest.importorskip("safetensors.torch")

TORCH_DTYPES = {
    "F32": torch.float32,
    "F16": torch.float16,
    "I64": torch.int64,
    "I32": torch.int32,
    "U8": torch.uint8,
    "BOOL": torch.bool,
}


def _entries():
    g = torch.Generator().manual_seed(0)
    tensors = {
        "w": torch.randn(3, 4, generator=g),
        "half": torch.randn(5, generator=g).half(),
        "idx": torch.tensor([[1, -2], [3, 2**40]], dtype=torch.int64),
        "i32": torch.tensor([7, -8, 9], dtype=torch.int32),
        "bytes": torch.arange(7, dtype=torch.uint8),
        "mask": torch.tensor([True, False, True]),
        "scalar": torch.tensor(2.5),
        "empty": torch.zeros(0, 3),
    }
    rev = {v: k for k, v in TORCH_DTYPES.items()}
    entries = {
        name: (rev[t.dtype], tuple(t.shape), t.contiguous().numpy().tobytes())
        for name, t in tensors.items()
    }
    return tensors, entries


def _header(blob):
    (n,) = struct.unpack_from("<Q", blob, 0)
    return n, json.loads(blob[8 : 8 + n])


def test_layout_follows_spec():
    _, entries = _entries()
    blob = encode(entries, metadata={"format": "pt", "k": "v"})
    n, header = _header(blob)
    assert n % 8 == 0
    assert header["__metadata__"] == {"format": "pt", "k": "v"}
    spans = sorted(tuple(v["data_offsets"]) for k, v in header.items() if k != "__metadata__")
    pos = 0
    for b, e in spans:
        assert b == pos
        pos = e
    assert 8 + n + pos == len(blob)
    # every tensor is aligned to its itemsize from the start of the file
    sizes = {"F32": 4, "F16": 2, "I64": 8, "I32": 4, "U8": 1, "BOOL": 1}
    for k, v in header.items():
        if k != "__metadata__":
            assert (8 + n + v["data_offsets"][0]) % sizes[v["dtype"]] == 0


def test_encode_loads_in_safetensors(tmp_path):
    tensors, entries = _entries()
    blob = encode(entries, metadata={"format": "pt"})
    loaded = st_torch.load(blob)
    assert set(loaded) == set(tensors)
    for name, t in tensors.items():
        assert loaded[name].dtype == t.dtype
        assert loaded[name].shape == t.shape
        assert torch.equal(loaded[name], t), name
    path = tmp_path / "m.safetensors"
    write_file(path, entries, metadata={"format": "pt"})
    loaded = st_torch.load_file(str(path))
    for name, t in tensors.items():
        assert torch.equal(loaded[name], t), name


def test_decode_reads_safetensors_output(tmp_path):
    tensors, _ = _entries()
    blob = st_torch.save(tensors, metadata={"hello": "world"})
    decoded, meta = decode(blob)
    assert meta == {"hello": "world"}
    assert set(decoded) == set(tensors)
    for name, t in tensors.items():
        dtype, shape, raw = decoded[name]
        assert TORCH_DTYPES[dtype] == t.dtype
        assert shape == tuple(t.shape)
        assert bytes(raw) == t.numpy().tobytes()
    path = tmp_path / "t.safetensors"
    st_torch.save_file(tensors, str(path))
    decoded, meta = read_file(path)
    assert meta is None
    assert bytes(decoded["w"][2]) == tensors["w"].numpy().tobytes()


def test_roundtrip_and_no_metadata():
    _, entries = _entries()
    decoded, meta = decode(encode(entries))
    assert meta is None
    assert {k: (d, s, bytes(r)) for k, (d, s, r) in decoded.items()} == entries
    assert decode(encode({})) == ({}, None)


def _blob(header: dict | str, body: bytes = b"", pad: bool = True) -> bytes:
    h = header if isinstance(header, str) else json.dumps(header)
    hb = h.encode()
    if pad:
        hb += b" " * (-len(hb) % 8)
    return struct.pack("<Q", len(hb)) + hb + body


def _t(dtype="F32", shape=(1,), offs=(0, 4)):
    return {"dtype": dtype, "shape": list(shape), "data_offsets": list(offs)}


@pytest.mark.parametrize(
    "blob, match",
    [
        (b"\x01\x00", "too short"),
        (struct.pack("<Q", MAX_HEADER_SIZE + 1) + b"{}", "too large"),
        (struct.pack("<Q", 64) + b"{}", "past the end"),
        (_blob("{not json"), "not valid JSON"),
        (_blob("[1, 2]"), "JSON object"),
        (_blob(b"{\xff}".decode("latin-1")), "JSON"),
        (_blob(f'{{"a": {json.dumps(_t())}, "a": {json.dumps(_t())}}}', bytes(4)), "duplicate"),
        (_blob({"a": _t(offs=(0, 8))}, bytes(4)), "out of range"),
        (_blob({"a": _t(offs=(4, 0))}, bytes(4)), "before begin"),
        (_blob({"a": _t(shape=(2,))}, bytes(4)), "needs 8"),
        (_blob({"a": _t(), "b": _t(offs=(2, 6))}, bytes(8)), "overlap"),
        (_blob({"a": _t(), "b": _t(offs=(8, 12))}, bytes(12)), "hole"),
        (_blob({"a": _t()}, bytes(8)), "cover 4"),
        (_blob({"a": _t(dtype="F33")}, bytes(4)), "unknown dtype"),
        (_blob({"a": _t(shape=(-1,))}, bytes(4)), "non-negative"),
        (_blob({"a": {"dtype": "F32", "shape": [1]}}, bytes(4)), "lacks"),
        (_blob({"a": _t(offs=(0,))}, bytes(4)), "data_offsets"),
        (_blob({"__metadata__": {"k": 1}}), "__metadata__"),
        (_blob({"a": 3}), "object"),
    ],
)
def test_decode_rejects_malformed(blob, match):
    with pytest.raises(ValueError, match=match):
        decode(blob)


def test_decode_accepts_unpadded_header():
    blob = _blob({"a": _t()}, struct.pack("<f", 1.5), pad=False)
    decoded, _ = decode(blob)
    assert struct.unpack("<f", decoded["a"][2]) == (1.5,)
    # safetensors agrees
    assert st_torch.load(blob)["a"].item() == 1.5


@pytest.mark.parametrize(
    "entries, metadata, match",
    [
        ({"a": ("F32", (2,), bytes(4))}, None, "needs 8"),
        ({"a": ("F99", (1,), bytes(4))}, None, "unknown dtype"),
        ({"a": ("F32", (-1,), b"")}, None, "non-negative"),
        ({"__metadata__": ("F32", (1,), bytes(4))}, None, "reserved"),
        ({}, {"k": 1}, "str"),
        ({"a": ("F32",)}, None, "entry must be"),
    ],
)
def test_encode_rejects_bad_input(entries, metadata, match):
    with pytest.raises(ValueError, match=match):
        encode(entries, metadata)
