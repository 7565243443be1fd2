"""ResNet-18 weights move between distml and a torchvision-named torch model through
safetensors files, in both directions, and the two models then agree."""
import numpy as np
import pytest
from safetensors.torch import load_file, save_file

import distml
from distml import models

torch = pytest.importorskip("torch")
from test_models import _TResNet18, float32_tolerance  # noqa: E402  (torchvision's ResNet-18)


def _batch():
    return np.random.default_rng(0).standard_normal((2, 3, 32, 32)).astype(np.float32)


def _assert_matches_torch_eval(got, theirs):
    """A deep net's float32 output depends on summation order: compare with a float64 run
    of the torch model, within a tolerance derived from torch-float32's own error."""
    with torch.no_grad():
        want32 = theirs(torch.tensor(_batch())).double().numpy()
        want64 = theirs.double()(torch.tensor(_batch()).double()).numpy()
    err = float(np.abs(got.astype(np.float64) - want64).max())
    assert err <= float32_tolerance(want32, want64), err


@pytest.mark.parametrize("stem", ["cifar", "imagenet"])
def test_distml_file_loads_into_torch(tmp_path, stem):
    distml.manual_seed(1)
    ours = models.resnet18(num_classes=10, stem=stem)
    ours.train()
    with distml.no_grad():  # move the BN running stats off their defaults
        ours(distml.tensor(_batch()))
    ours.eval()
    distml.save(ours.state_dict(), tmp_path / "r18.safetensors")
    theirs = _TResNet18(num_classes=10, stem=stem)
    theirs.load_state_dict(load_file(tmp_path / "r18.safetensors"), strict=True)
    theirs.eval()
    with distml.no_grad():
        got = ours(distml.tensor(_batch())).numpy()
    _assert_matches_torch_eval(got, theirs)


def test_torch_file_loads_into_distml(tmp_path):
    torch.manual_seed(0)
    theirs = _TResNet18(num_classes=10, stem="cifar")
    theirs.train()
    with torch.no_grad():
        theirs(torch.tensor(_batch()))
    theirs.eval()
    save_file({k: v.contiguous() for k, v in theirs.state_dict().items()},
              tmp_path / "t18.safetensors")
    ours = models.resnet18(num_classes=10, stem="cifar")
    result = ours.load_state_dict(distml.load(tmp_path / "t18.safetensors"))
    assert not result.missing_keys and not result.unexpected_keys
    assert ours.bn1.num_batches_tracked.item() == 1
    ours.eval()
    with distml.no_grad():
        got = ours(distml.tensor(_batch())).numpy()
    _assert_matches_torch_eval(got, theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
