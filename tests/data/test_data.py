"""Dataset / DataLoader semantics, and the MNIST reader on the real IDX files."""
import pytest

import distml
from distml.utils.data import (
    BatchSampler, DataLoader, Dataset, RandomSampler, SequentialSampler, Subset, TensorDataset,
    default_collate, random_split,
)


class Squares(Dataset):
    def __len__(self):
        return 10

    def __getitem__(self, i):
        return distml.tensor([float(i)]), i * i


def test_dataloader_batches_and_drop_last():
    batches = list(DataLoader(Squares(), batch_size=4))
    assert [b[0].shape[0] for b in batches] == [4, 4, 2]
    assert batches[0][1].tolist() == [0, 1, 4, 9]
    assert batches[0][0].shape == (4, 1)
    assert len(DataLoader(Squares(), batch_size=4, drop_last=True)) == 2
    assert len(list(DataLoader(Squares(), batch_size=4, drop_last=True))) == 2


def test_shuffle_is_seeded_and_covers_everything():
    def order(seed):
        dl = DataLoader(Squares(), batch_size=3, shuffle=True, generator=distml.Generator(seed))
        return [v for _, y in dl for v in y.tolist()]
    a, b, c = order(1), order(1), order(2)
    assert a == b and a != c
    assert sorted(a) == [i * i for i in range(10)]
    gen = distml.Generator(5)
    dl = DataLoader(Squares(), batch_size=10, shuffle=True, generator=gen)
    assert next(iter(dl))[1].tolist() != next(iter(dl))[1].tolist()  # new order each epoch


def test_tensor_dataset_fast_path_matches_per_sample():
    x = distml.arange(20).float().reshape(10, 2)
    y = distml.arange(10)
    ds = TensorDataset(x, y)
    fast = list(DataLoader(ds, batch_size=4))
    slow = list(DataLoader(ds, batch_size=4, collate_fn=default_collate))
    for (fx, fy), (sx, sy) in zip(fast, slow):
        assert fx.tolist() == sx.tolist() and fy.tolist() == sy.tolist()
    with pytest.raises(ValueError, match="Size mismatch"):
        TensorDataset(x, distml.arange(9))


def test_samplers_subset_split():
    assert list(SequentialSampler(range(3))) == [0, 1, 2]
    assert sorted(RandomSampler(range(5), generator=distml.Generator(0))) == [0, 1, 2, 3, 4]
    assert list(BatchSampler(range(5), 2, False)) == [[0, 1], [2, 3], [4]]
    with pytest.raises(ValueError, match="batch_size"):
        BatchSampler(range(5), 0, False)
    sub = Subset(Squares(), [3, 5])
    assert len(sub) == 2 and sub[1][1] == 25
    parts = random_split(Squares(), [7, 3], generator=distml.Generator(0))
    assert [len(p) for p in parts] == [7, 3]
    assert sorted(i for p in parts for i in p.indices) == list(range(10))
    with pytest.raises(ValueError, match="Sum of input lengths"):
        random_split(Squares(), [5, 3])
    with pytest.raises(ValueError, match="mutually exclusive"):
        DataLoader(Squares(), sampler=SequentialSampler(range(10)), shuffle=True)


def test_mnist_dataset():
    pytest.importorskip("numpy")
    try:
        from distml.datasets import MNIST
        test = MNIST(train=False)
    except FileNotFoundError:
        pytest.skip("MNIST files not installed (bash run.sh setup)")
    assert len(test) == 10000
    img, label = test[0]
    assert img.shape == (1, 28, 28) and img.dtype is distml.float32
    assert 0.0 <= img.min().item() and img.max().item() <= 1.0 and label == 7
    x, y = next(iter(DataLoader(test, batch_size=5)))
    assert x.shape == (5, 1, 28, 28) and y.tolist() == [7, 2, 1, 0, 4]
    assert (x[0] == img).all()
    with pytest.raises(IndexError):
        test[10000]
