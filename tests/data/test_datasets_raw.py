"""Raw IDX / MNIST file access (distml.datasets low-level part)."""

import gzip
import struct

import pytest

from distml import datasets
from distml.datasets import load_mnist_raw, mnist_files_dir, read_idx


def _idx(code: int, shape: tuple[int, ...], payload: bytes) -> bytes:
    return (
        struct.pack(">HBB", 0, code, len(shape)) + struct.pack(f">{len(shape)}I", *shape) + payload
    )


def test_read_idx_ubyte(tmp_path):
    payload = bytes(range(24))
    p = tmp_path / "x-idx3-ubyte"
    p.write_bytes(_idx(0x08, (2, 3, 4), payload))
    shape, dtype, raw = read_idx(p)
    assert shape == (2, 3, 4)
    assert dtype == "uint8"
    assert raw == payload


def test_read_idx_gz_and_float(tmp_path):
    payload = struct.pack(">3f", 1.5, -2.0, 0.25)
    p = tmp_path / "x-idx1-float.gz"
    p.write_bytes(gzip.compress(_idx(0x0D, (3,), payload)))
    shape, dtype, raw = read_idx(str(p))
    assert (shape, dtype) == ((3,), "float32")
    assert struct.unpack(">3f", raw) == (1.5, -2.0, 0.25)


def test_read_idx_scalar_and_empty(tmp_path):
    p = tmp_path / "scalar"
    p.write_bytes(_idx(0x08, (), b"\x07"))
    assert read_idx(p) == ((), "uint8", b"\x07")
    p.write_bytes(_idx(0x0C, (0, 5), b""))
    assert read_idx(p) == ((0, 5), "int32", b"")


@pytest.mark.parametrize(
    "blob, match",
    [
        (b"\x00\x00", "too short"),
        (b"\x01\x00\x08\x01\x00\x00\x00\x01\x00", "magic"),
        (b"\x00\x00\x0a\x01\x00\x00\x00\x01\x00", "type code"),
        (b"\x00\x00\x08\x02\x00\x00\x00\x01", "truncated"),
        (b"\x00\x00\x08\x01\x00\x00\x00\x03\x00\x00", "needs 3 data bytes"),
        (b"\x00\x00\x08\x01\x00\x00\x00\x01\x00\x00", "needs 1 data bytes"),
    ],
)
def test_read_idx_rejects_malformed(tmp_path, blob, match):
    p = tmp_path / "bad"
    p.write_bytes(blob)
    with pytest.raises(ValueError, match=match):
        read_idx(p)


def test_mnist_dir_env_var(tmp_path, monkeypatch):
    for train in (True, False):
        img, lbl = datasets._MNIST_FILES[train]
        (tmp_path / img).write_bytes(_idx(0x08, (2, 28, 28), bytes(2 * 784)))
        (tmp_path / (lbl + ".gz")).write_bytes(gzip.compress(_idx(0x08, (2,), b"\x03\x09")))
    monkeypatch.setenv("DISTML_MNIST_DIR", str(tmp_path))
    assert mnist_files_dir() == tmp_path
    images, labels, n = load_mnist_raw(train=False)
    assert (len(images), labels, n) == (2 * 784, b"\x03\x09", 2)


def test_mnist_dir_missing(tmp_path, monkeypatch):
    monkeypatch.setenv("DISTML_MNIST_DIR", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="DISTML_MNIST_DIR"):
        mnist_files_dir()
    monkeypatch.delenv("DISTML_MNIST_DIR")
    monkeypatch.setattr(datasets, "_candidate_dirs", lambda: [tmp_path / "nowhere"])
    with pytest.raises(FileNotFoundError, match="bash run.sh setup"):
        mnist_files_dir()


def _real_mnist_available() -> bool:
    try:
        mnist_files_dir()
    except FileNotFoundError:
        return False
    return True


needs_mnist = pytest.mark.skipif(
    not _real_mnist_available(), reason="MNIST files absent (run `bash run.sh setup`)"
)


@needs_mnist
@pytest.mark.parametrize("train, count", [(True, 60000), (False, 10000)])
def test_real_mnist(train, count):
    images, labels, n = load_mnist_raw(train)
    assert n == count
    assert len(images) == count * 28 * 28
    assert len(labels) == count
    assert set(labels) == set(range(10))
    assert b"\x00" in images and b"\xff" in images
    # well-known first labels of the two sets
    assert labels[0] == (5 if train else 7)
