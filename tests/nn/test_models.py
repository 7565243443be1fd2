"""distml.models against torch: ResNet-18 (both stems) and the MNIST CNN, compared with
a float64 torch run for deep nets, and the MLP helper. ResNet-18 runs on numpy only."""
import copy
import math
from collections import OrderedDict

import numpy as np
import pytest
# _restore_numpy_backend: an autouse fixture, active in this module
from nn_float32_reference import _restore_numpy_backend  # noqa: F401
from nn_float32_reference import _img, dm, load_from_torch, torch

import distml
import distml.nn as nn
import distml.nn.functional as F
from distml import models

tnn = torch.nn
TF = torch.nn.functional


# -- models -----------------------------------------------------------------------------------

class _TBasicBlock(tnn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = tnn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = tnn.BatchNorm2d(planes)
        self.relu = tnn.ReLU(inplace=True)
        self.conv2 = tnn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = tnn.BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        return self.relu(out)


class _TResNet18(tnn.Module):
    """torchvision.models.resnet18, written out (torchvision is not installed here)."""

    def __init__(self, num_classes=10, stem="imagenet"):
        super().__init__()
        self.inplanes = 64
        if stem == "imagenet":
            self.conv1 = tnn.Conv2d(3, 64, 7, 2, 3, bias=False)
        else:
            self.conv1 = tnn.Conv2d(3, 64, 3, 1, 1, bias=False)
        self.bn1 = tnn.BatchNorm2d(64)
        self.relu = tnn.ReLU(inplace=True)
        self.maxpool = tnn.MaxPool2d(3, 2, 1) if stem == "imagenet" else tnn.Identity()
        self.layer1 = self._make_layer(64, 2)
        self.layer2 = self._make_layer(128, 2, 2)
        self.layer3 = self._make_layer(256, 2, 2)
        self.layer4 = self._make_layer(512, 2, 2)
        self.avgpool = tnn.AdaptiveAvgPool2d((1, 1))
        self.fc = tnn.Linear(512, num_classes)
        for m in self.modules():
            if isinstance(m, tnn.Conv2d):
                tnn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, tnn.BatchNorm2d):
                tnn.init.constant_(m.weight, 1)
                tnn.init.constant_(m.bias, 0)

    def _make_layer(self, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes:
            downsample = tnn.Sequential(tnn.Conv2d(self.inplanes, planes, 1, stride,
                                                   bias=False), tnn.BatchNorm2d(planes))
        layers = [_TBasicBlock(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes
        for _ in range(1, blocks):
            layers.append(_TBasicBlock(self.inplanes, planes))
        return tnn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


@pytest.mark.parametrize("stem", ["cifar", "imagenet"])
def test_resnet18_matches_torch(stem):
    torch.manual_seed(0)
    t_net = _TResNet18(num_classes=10, stem=stem)
    d_net = models.resnet18(num_classes=10, stem=stem)
    assert list(d_net.state_dict()) == list(t_net.state_dict())
    assert [n for n, _ in d_net.named_modules()] == [n for n, _ in t_net.named_modules()]
    for (n, a), (_, b) in zip(d_net.state_dict().items(), t_net.state_dict().items()):
        assert tuple(a.shape) == tuple(b.shape), n
    load_from_torch(d_net, t_net)
    x = _img((4, 3, 32, 32))
    y = np.array([1, 5, 0, 9], dtype=np.int64)
    assert_deep_net_matches_torch(d_net, t_net, x, y)


# -- deep networks: compare against float64 torch ------------------------------------------
# A deep net's float32 result depends on summation order (torch's oneDNN or reference
# kernels, AVX2 or AVX-512 blocking, FMA), so float32 torch is no fixed target: distml and
# torch-float32 are both compared with a float64 torch run, and distml may be off by a
# small multiple of torch-float32's own error on the same tensor.
EPS32 = float(np.finfo(np.float32).eps)


def _train_step_results(lib, net, x, y):
    """Train-mode loss/logits and gradients (input, parameters in order), buffers after
    the step's batch statistics, eval-mode logits: float64 numpy arrays by name."""
    if lib is torch:
        xt = torch.from_numpy(x).to(next(net.parameters()).dtype).requires_grad_(True)
        grad_ctx, loss_fn, target = torch.no_grad, TF.cross_entropy, torch.from_numpy(y)
    else:
        xt = dm(x, True)
        grad_ctx, loss_fn, target = distml.no_grad, F.cross_entropy, dm(y)
    out = net(xt)
    loss = loss_fn(out, target)
    loss.backward()
    got = {"loss": loss, "train-mode logits": out, "input grad": xt.grad}
    got.update({f"grad of parameter {i}": p.grad for i, p in enumerate(net.parameters())})
    got.update({f"buffer {i}": b for i, b in enumerate(net.buffers())})
    net.eval()
    with grad_ctx():
        got["eval-mode logits"] = net(xt.detach())
    net.train()
    return {k: np.asarray(v.detach().numpy(), dtype=np.float64) for k, v in got.items()}


def float32_tolerance(t32, t64):
    """How far a float32 result may be from the float64 one: 8x torch-float32's own error
    on that tensor, floored at 256 ulps of the tensor's scale (where torch lands close by
    luck)."""
    scale = max(float(np.abs(t64).max()), 1e-30)
    return max(8.0 * float(np.abs(t32 - t64).max()), 256 * EPS32 * scale)


def assert_deep_net_matches_torch(d_net, t_net, x, y):
    """One training step (and an eval forward) of d_net against t_net's float32 and
    float64 runs on the same weights and data."""
    t64_net = copy.deepcopy(t_net).double()
    want32 = _train_step_results(torch, t_net, x, y)
    want64 = _train_step_results(torch, t64_net, x, y)
    got = _train_step_results(distml, d_net, x, y)
    assert set(got) == set(want64)
    for what, d in got.items():
        t64 = want64[what]
        assert d.shape == t64.shape, what
        tol = float32_tolerance(want32[what], t64)
        err = float(np.abs(d - t64).max())
        assert err <= tol, f"{what}: distml is {err:.3g} from float64 torch (tolerance {tol:.3g})"


def test_resnet_structure_and_init():
    distml.manual_seed(0)
    net = models.resnet18()
    assert isinstance(net.maxpool, nn.MaxPool2d) and net.conv1.kernel_size == (7, 7)
    assert net.fc.out_features == 1000 and net.layer1[0].downsample is None
    assert isinstance(net.layer2[0].downsample, nn.Sequential)
    assert isinstance(net.layer2[0].downsample[0], nn.Conv2d)
    assert isinstance(net, models.ResNet) and isinstance(net.layer3[1], models.BasicBlock)
    cifar = models.resnet18(num_classes=10, stem="cifar", in_channels=1)
    assert isinstance(cifar.maxpool, nn.Identity) and cifar.conv1.stride == (1, 1)
    assert tuple(cifar.conv1.weight.shape) == (64, 1, 3, 3)
    assert cifar(distml.randn(2, 1, 16, 16)).shape == (2, 10)
    # kaiming_normal_(fan_out, relu) for convs
    w = net.layer3[0].conv1.weight.detach().numpy()
    std = math.sqrt(2.0 / (w.shape[0] * 9))
    assert abs(w.std() - std) / std < 0.02
    assert net.bn1.weight.tolist() == [1.0] * 64
    n_params = sum(p.numel() for p in net.parameters())
    assert n_params == 11689512  # torchvision's resnet18
    r50 = models.resnet50()
    assert sum(p.numel() for p in r50.parameters()) == 25557032  # torchvision's resnet50
    assert sum(p.numel() for p in models.resnet34().parameters()) == 21797672
    with pytest.raises(ValueError, match="stem must be"):
        models.resnet18(stem="tiny")


def _torch_mnist_cnn(dropout):
    return tnn.Sequential(
        tnn.Sequential(tnn.Conv2d(1, 32, 3, padding=1, bias=False), tnn.BatchNorm2d(32),
                       tnn.ReLU(), tnn.Conv2d(32, 32, 3, padding=1, bias=False),
                       tnn.BatchNorm2d(32), tnn.ReLU(), tnn.MaxPool2d(2),
                       tnn.Conv2d(32, 64, 3, padding=1, bias=False), tnn.BatchNorm2d(64),
                       tnn.ReLU(), tnn.Conv2d(64, 64, 3, padding=1, bias=False),
                       tnn.BatchNorm2d(64), tnn.ReLU(), tnn.MaxPool2d(2)),
        tnn.Sequential(tnn.Flatten(), tnn.Linear(64 * 7 * 7, 128), tnn.ReLU(),
                       tnn.Dropout(dropout), tnn.Linear(128, 10)))


def test_mnist_cnn_matches_torch_and_trains():
    distml.manual_seed(0)
    net = models.MnistCNN(dropout=0.0)
    assert net(distml.randn(2, 1, 28, 28)).shape == (2, 10)
    torch.manual_seed(0)
    tnet = _torch_mnist_cnn(0.0)
    assert [tuple(v.shape) for v in net.state_dict().values()] == \
        [tuple(v.shape) for v in tnet.state_dict().values()]
    load_from_torch_by_position(net, tnet)
    x = _img((3, 1, 28, 28))
    y = np.array([3, 1, 4], dtype=np.int64)
    assert_deep_net_matches_torch(net, tnet, x, y)
    # a few plain SGD steps on a fixed batch drive the loss down
    distml.manual_seed(0)
    net = models.MnistCNN()
    xb = distml.randn(16, 1, 28, 28)
    yb = distml.randint(0, 10, (16,))
    losses = []
    for _ in range(8):
        loss = F.cross_entropy(net(xb), yb)
        net.zero_grad()
        loss.backward()
        with distml.no_grad():
            for p in net.parameters():
                p.copy_(p - p.grad * 0.01)
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0]


def test_mlp_helper():
    mlp = models.MLP(8, [16, 12], 3, dropout=0.1)
    assert [type(m).__name__ for m in mlp] == ["Linear", "ReLU", "Dropout", "Linear", "ReLU",
                                               "Dropout", "Linear"]
    assert mlp(distml.randn(5, 8)).shape == (5, 3)
    assert list(mlp.state_dict())[:2] == ["0.weight", "0.bias"]
    assert len(models.MLP(4, 5, 2)) == 3
    assert isinstance(mlp[:3], models.MLP) and len(mlp[:3]) == 3


def load_from_torch_by_position(dm_mod, t_mod):
    keys = list(dm_mod.state_dict())
    values = list(t_mod.state_dict().values())
    dm_mod.load_state_dict(OrderedDict(zip(keys, values)))
