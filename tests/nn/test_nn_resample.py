"""PixelShuffle/Unshuffle, the padding layers, InstanceNorm, GroupNorm and
Upsample/F.interpolate against torch (float64 reference): forward and input/parameter
gradients on numpy and pure Python, running statistics, errors on bad input."""
import warnings

import numpy as np
import pytest
from nn_reference import close, compare, dm, rand, torch, tt

import distml
import distml.nn as nn
import distml.nn.functional as F

tnn = torch.nn
TF = torch.nn.functional

MODULE_CASES = [
    ("pixel_shuffle", lambda m: m.PixelShuffle(2), (2, 8, 3, 3)),
    ("pixel_shuffle_5d", lambda m: m.PixelShuffle(3), (2, 1, 9, 2, 2)),
    ("pixel_unshuffle", lambda m: m.PixelUnshuffle(2), (2, 2, 4, 6)),
    ("zero_pad", lambda m: m.ZeroPad2d((1, 2, 0, 3)), (2, 2, 3, 3)),
    ("constant_pad", lambda m: m.ConstantPad2d(2, 3.5), (2, 3, 3)),
    ("reflection_pad", lambda m: m.ReflectionPad2d((2, 1, 1, 2)), (2, 2, 4, 4)),
    ("reflection_pad_1d", lambda m: m.ReflectionPad1d(2), (2, 3, 5)),
    ("replication_pad", lambda m: m.ReplicationPad2d(2), (1, 2, 3, 3)),
    ("replication_pad_1d", lambda m: m.ReplicationPad1d((1, 3)), (2, 3, 4)),
    ("circular_pad", lambda m: m.CircularPad2d((1, 2, 2, 1)), (1, 2, 3, 4)),
    ("instance_norm", lambda m: m.InstanceNorm2d(3), (2, 3, 4, 4)),
    ("instance_norm_affine_stats",
     lambda m: m.InstanceNorm2d(3, affine=True, track_running_stats=True), (2, 3, 4, 5)),
    ("instance_norm_unbatched", lambda m: m.InstanceNorm2d(2, affine=True), (2, 3, 3)),
    ("instance_norm_1d", lambda m: m.InstanceNorm1d(3, affine=True), (2, 3, 6)),
    ("group_norm", lambda m: m.GroupNorm(2, 4), (2, 4, 3, 3)),
    ("group_norm_1group_noaffine", lambda m: m.GroupNorm(1, 3, affine=False), (2, 3, 5)),
    ("upsample_nearest", lambda m: m.Upsample(scale_factor=2), (1, 2, 3, 4)),
    ("upsample_nearest_size", lambda m: m.Upsample(size=(5, 7)), (1, 2, 3, 4)),
    ("upsample_bilinear", lambda m: m.Upsample(scale_factor=2, mode="bilinear"),
     (1, 2, 3, 4)),
    ("upsample_bilinear_ac", lambda m: m.Upsample(size=(5, 6), mode="bilinear",
                                                  align_corners=True), (1, 2, 3, 4)),
    ("upsample_bilinear_down", lambda m: m.Upsample(size=(2, 3), mode="bilinear"),
     (1, 2, 5, 7)),
    ("upsampling_bilinear2d", lambda m: m.UpsamplingBilinear2d(scale_factor=2), (1, 1, 3, 3)),
    ("upsampling_nearest2d", lambda m: m.UpsamplingNearest2d(size=5), (1, 1, 3, 3)),
]


@pytest.mark.parametrize("name,make,shape", MODULE_CASES, ids=[c[0] for c in MODULE_CASES])
def test_module_matches_torch(backend, name, make, shape):
    torch.manual_seed(0)
    t_mod, d_mod = make(tnn), make(nn)
    for p in t_mod.parameters():  # non-trivial affine parameters
        with torch.no_grad():
            p.add_(torch.randn(p.shape) * 0.5)
    compare(d_mod, t_mod, [rand(*shape)])
    if name == "instance_norm_affine_stats":
        close(d_mod.running_mean, t_mod.running_mean, what="running_mean")
        close(d_mod.running_var, t_mod.running_var, what="running_var")
        d_mod.eval()
        t_mod.eval()
        x = rand(*shape, seed=5)
        close(d_mod(dm(x)), t_mod(tt(x)), what="eval forward")


INTERP_CASES = [
    ({"scale_factor": 2.5, "mode": "nearest"}, (1, 2, 3, 4)),
    ({"scale_factor": 1.5, "mode": "nearest-exact"}, (1, 2, 4, 4)),
    ({"size": (7, 5), "mode": "nearest-exact"}, (1, 2, 3, 4)),
    ({"scale_factor": (1.7, 0.6), "mode": "bilinear"}, (1, 2, 4, 5)),
    ({"scale_factor": 1.7, "mode": "bilinear", "recompute_scale_factor": True},
     (1, 2, 4, 5)),
    ({"scale_factor": 3, "mode": "bilinear", "align_corners": True}, (2, 1, 2, 3)),
    ({"size": 6, "mode": "linear"}, (2, 3, 4)),
    ({"size": 4, "mode": "linear", "align_corners": True}, (2, 3, 7)),
    ({"size": (3, 2), "mode": "area"}, (1, 2, 7, 5)),
    ({"size": (3, 4, 2), "mode": "trilinear"}, (1, 1, 2, 3, 4)),
    ({"scale_factor": 2, "mode": "nearest"}, (1, 2, 3)),
]


@pytest.mark.parametrize("kw,shape", INTERP_CASES, ids=[str(i) for i in range(len(INTERP_CASES))])
def test_interpolate_matches_torch(backend, kw, shape):
    x = rand(*shape)
    xt, xd = tt(x, requires_grad=True), dm(x, requires_grad=True)
    yt, yd = TF.interpolate(xt, **kw), F.interpolate(xd, **kw)
    close(yd, yt, what="forward")
    g = rand(*yt.shape, seed=1)
    (yt * tt(g)).sum().backward()
    (yd * dm(g)).sum().backward()
    close(xd.grad, xt.grad, what="input grad")


def test_pad_modes_functional(backend):
    x = rand(2, 3, 4, 5)
    for mode in ("constant", "reflect", "replicate", "circular"):
        xt, xd = tt(x, requires_grad=True), dm(x, requires_grad=True)
        yt = TF.pad(xt, (2, 1, 3, 0), mode=mode)
        yd = F.pad(xd, (2, 1, 3, 0), mode=mode)
        close(yd, yt, what=mode)
        g = rand(*yt.shape, seed=2)
        (yt * tt(g)).sum().backward()
        (yd * dm(g)).sum().backward()
        close(xd.grad, xt.grad, what=f"{mode} grad")


def test_instance_norm_running_stats_and_defaults():
    d, t = nn.InstanceNorm2d(3), tnn.InstanceNorm2d(3)
    assert (d.affine, d.track_running_stats) == (t.affine, t.track_running_stats) == \
        (False, False)
    assert list(d.state_dict()) == list(t.state_dict()) == []
    d = nn.InstanceNorm2d(3, affine=True, track_running_stats=True, momentum=0.3)
    t = tnn.InstanceNorm2d(3, affine=True, track_running_stats=True, momentum=0.3)
    assert list(d.state_dict()) == list(t.state_dict())
    for seed in range(3):
        x = rand(4, 3, 3, 3, seed=seed)
        d(dm(x))
        t(torch.from_numpy(x))
    close(d.running_mean, t.running_mean, 1e-5, 1e-6)
    close(d.running_var, t.running_var, 1e-5, 1e-6)


def test_pixel_shuffle_round_trip():
    x = distml.tensor(rand(2, 12, 3, 5))
    y = F.pixel_unshuffle(F.pixel_shuffle(x, 2), 2)
    assert y.tolist() == x.tolist()


def test_errors():
    with pytest.raises(RuntimeError, match="divisible by the square of upscale_factor"):
        F.pixel_shuffle(distml.zeros(1, 6, 2, 2), 2)
    with pytest.raises(RuntimeError, match="at least 3 dimensions"):
        F.pixel_shuffle(distml.zeros(4, 4), 2)
    with pytest.raises(RuntimeError, match="height to be divisible by downscale_factor"):
        F.pixel_unshuffle(distml.zeros(1, 1, 3, 4), 2)
    x = distml.zeros(1, 2, 3, 4)
    with pytest.raises(ValueError, match="only one of size or scale_factor"):
        F.interpolate(x, size=4, scale_factor=2)
    with pytest.raises(ValueError, match="either size or scale_factor"):
        F.interpolate(x)
    with pytest.raises(ValueError, match="align_corners option can only be set"):
        F.interpolate(x, scale_factor=2, align_corners=True)
    with pytest.raises(NotImplementedError, match="Got 4D input, but linear mode needs 3D"):
        F.interpolate(x, scale_factor=2, mode="linear")
    with pytest.raises(NotImplementedError, match="bicubic"):
        F.interpolate(x, scale_factor=2, mode="bicubic")
    with pytest.raises(RuntimeError, match="Padding size should be less than"):
        nn.ReflectionPad2d(3)(x)
    with pytest.raises(ValueError, match="expected 3D or 4D input"):
        nn.ReflectionPad2d(1)(distml.zeros(3, 3))
    with pytest.raises(ValueError, match="expected input's size at dim=1 to match "
                                         "num_features"):
        nn.InstanceNorm2d(3, affine=True)(x)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        nn.InstanceNorm2d(3)(x)
    assert any("does not match num_features" in str(m.message) for m in w)
    with pytest.raises(ValueError, match="more than 1 spatial element"):
        F.instance_norm(distml.zeros(2, 3, 1, 1))
    assert np.isfinite(F.group_norm(distml.ones(2, 4, 2), 2).tolist()).all()
