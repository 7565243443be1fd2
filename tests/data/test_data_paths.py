"""utils.data: RandomSampler's replacement/num_samples, DistributedSampler, and torch's
module paths (dataset, sampler, dataloader, distributed)."""
import collections

import pytest
import torch

import distml
import distml.utils.data as data


def test_torch_module_paths():
    import distml.utils.data.dataloader as dataloader
    import distml.utils.data.dataset as dataset
    import distml.utils.data.distributed as distributed
    import distml.utils.data.sampler as sampler
    where = {dataloader: ["DataLoader", "default_collate"],
             dataset: ["Dataset", "TensorDataset", "Subset", "ConcatDataset", "random_split"],
             sampler: ["Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler",
                       "BatchSampler"],
             distributed: ["DistributedSampler"]}
    for module, names in where.items():
        torch_module = getattr(torch.utils.data, module.__name__.rsplit(".", 1)[1])
        for name in names:
            assert getattr(module, name) is getattr(data, name)
            assert hasattr(torch_module, name)
    assert distml.utils.data.dataloader.DataLoader is data.DataLoader  # attribute access too
    assert data.get_worker_info() is None


def test_random_sampler_permutation_by_default():
    s = data.RandomSampler(range(7), generator=distml.Generator(1))
    assert len(s) == 7 and sorted(s) == list(range(7))
    assert list(s) != list(data.RandomSampler(range(7), generator=distml.Generator(2)))


def test_random_sampler_without_replacement_beyond_the_dataset():
    s = data.RandomSampler(range(4), num_samples=10, generator=distml.Generator(0))
    out = list(s)
    assert len(s) == len(out) == 10
    # two whole permutations, then two distinct indices of a third
    assert sorted(out[:4]) == sorted(out[4:8]) == [0, 1, 2, 3]
    assert len(set(out[8:])) == 2
    assert len(list(data.RandomSampler(range(5), num_samples=3))) == 3


def test_random_sampler_with_replacement():
    n, draws = 5, 20000
    s = data.RandomSampler(range(n), replacement=True, num_samples=draws,
                           generator=distml.Generator(3))
    out = list(s)
    assert len(out) == len(s) == draws and set(out) <= set(range(n))
    counts = collections.Counter(out)
    # each count is binomial(draws, 1/n): within 5 standard deviations
    sd = (draws * (1 / n) * (1 - 1 / n)) ** 0.5
    assert all(abs(counts[i] - draws / n) < 5 * sd for i in range(n))
    assert len(data.RandomSampler(range(n), replacement=True)) == n


def test_random_sampler_bad_arguments_match_torch():
    for kw, err, msg in ((dict(replacement=1), TypeError, "replacement should be a boolean"),
                         (dict(num_samples=0), ValueError, "num_samples should be a positive"),
                         (dict(num_samples=2.5), ValueError, "num_samples=2.5")):
        with pytest.raises(err, match=msg):
            data.RandomSampler(range(3), **kw)
        with pytest.raises(err, match=msg):
            torch.utils.data.RandomSampler(range(3), **kw)


def test_dataloader_with_a_replacement_sampler():
    ds = data.TensorDataset(distml.arange(6).float())
    sampler = data.RandomSampler(ds, replacement=True, num_samples=8,
                                 generator=distml.Generator(0))
    batches = list(data.DataLoader(ds, batch_size=3, sampler=sampler))
    assert [b[0].shape[0] for b in batches] == [3, 3, 2]
    shuffled = list(data.DataLoader(ds, batch_size=6, shuffle=True,
                                    generator=distml.Generator(0)))
    assert sorted(shuffled[0][0].tolist()) == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]


@pytest.mark.parametrize("n,replicas,drop_last", [(10, 3, False), (10, 3, True), (2, 5, False),
                                                  (9, 3, False)])
def test_distributed_sampler_partitions_like_torch(n, replicas, drop_last):
    for rank in range(replicas):
        ours = data.DistributedSampler(range(n), replicas, rank, shuffle=False,
                                       drop_last=drop_last)
        theirs = torch.utils.data.DistributedSampler(range(n), num_replicas=replicas,
                                                     rank=rank, shuffle=False,
                                                     drop_last=drop_last)
        assert list(ours) == list(theirs) and len(ours) == len(theirs)
    # shuffled: the replicas share one order per epoch, so together they cover it all
    parts = [data.DistributedSampler(range(n), replicas, r, seed=4, drop_last=drop_last)
             for r in range(replicas)]
    for p in parts:
        p.set_epoch(2)
    covered = [i for p in parts for i in p]
    if drop_last:
        assert len(set(covered)) == len(covered) == replicas * len(parts[0])
    else:
        assert set(covered) == set(range(n))
    assert list(parts[0]) == list(parts[0])  # the same order on every pass of an epoch


def test_distributed_sampler_needs_world_size_and_rank():
    with pytest.raises(ValueError, match="num_replicas and rank"):
        data.DistributedSampler(range(4))
    with pytest.raises(ValueError, match=r"Invalid rank 3, rank should be in the interval"):
        data.DistributedSampler(range(4), num_replicas=3, rank=3)


def test_weighted_random_sampler_with_replacement():
    weights, draws = [1.0, 0.0, 3.0, 4.0], 40000
    s = data.WeightedRandomSampler(distml.tensor(weights), draws,
                                   generator=distml.Generator(5))
    out = list(s)
    assert len(out) == len(s) == draws
    counts = collections.Counter(out)
    assert counts[1] == 0
    for i, w in enumerate(weights):
        p = w / sum(weights)
        assert abs(counts[i] / draws - p) <= 5 * (p * (1 - p) / draws) ** 0.5 + 1e-12


def test_weighted_random_sampler_without_replacement():
    s = data.WeightedRandomSampler([0.0, 1.0, 50.0, 2.0], 3, replacement=False,
                                   generator=distml.Generator(0))
    out = list(s)
    assert len(set(out)) == 3 and 0 not in out
    # the zero-weight index comes only once every other one is out, as in torch
    assert sorted(data.WeightedRandomSampler([0.0, 1.0], 2, replacement=False)) == [0, 1]
    # heavy weights come first most of the time
    firsts = collections.Counter(
        next(iter(data.WeightedRandomSampler([1.0, 20.0], 1, replacement=False,
                                             generator=distml.Generator(k))))
        for k in range(200))
    assert firsts[1] > 170


@pytest.mark.parametrize("kw,err,msg", [
    (dict(weights=[1.0, 2.0], num_samples=0), ValueError, "num_samples should be a positive"),
    (dict(weights=[1.0, 2.0], num_samples=2, replacement=1), ValueError,
     "replacement should be a boolean"),
    (dict(weights=[[1.0, 2.0]], num_samples=2), ValueError,
     r"weights should be a 1d sequence but given weights have shape \(1, 2\)"),
    (dict(weights=[1.0, -1.0], num_samples=2), RuntimeError, "probability entry < 0"),
    (dict(weights=[1.0, 0.0], num_samples=3, replacement=False), RuntimeError,
     "cannot sample n_sample > prob_dist.size"),
])
def test_weighted_random_sampler_errors_match_torch(kw, err, msg):
    with pytest.raises(err, match=msg):
        list(data.WeightedRandomSampler(**kw))
    with pytest.raises(err, match=msg):
        list(torch.utils.data.WeightedRandomSampler(**kw))


def test_samplers_with_replacement_are_lazy():
    # minGPT's trainer: RandomSampler(ds, replacement=True, num_samples=int(1e10))
    huge = int(1e10)
    ds = data.TensorDataset(distml.arange(10).float())
    loader = data.DataLoader(ds, batch_size=4, sampler=data.RandomSampler(
        ds, replacement=True, num_samples=huge), shuffle=False, pin_memory=True, num_workers=0)
    batch = next(iter(loader))
    assert batch[0].shape == (4,) and len(loader) == huge // 4
    weighted = data.WeightedRandomSampler([1.0, 2.0], huge)
    first = list(zip(range(5000), weighted))
    assert len(first) == 5000 and len(weighted) == huge
