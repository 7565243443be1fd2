"""ResNet-18 weights move between distml and a torchvision-named torch model through
safetensors files, in both directions, and the two models then agree."""
import numpy as np
import pytest
from safetensors.torch import load_file, save_file

import distml
from distml import models

torch = pytest.importorskip("torch")
from test_nn import _TResNet18  # noqa: E402  (torchvision's ResNet-18, written out)


def _batch():
    return np.random.default_rng(0).standard_normal((2, 3, 32, 32)).astype(np.float32)


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
    with torch.no_grad(), torch.backends.mkldnn.flags(enabled=False):
        want = theirs(torch.tensor(_batch())).numpy()
    with distml.no_grad():
        got = ours(distml.tensor(_batch())).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


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
    with torch.no_grad(), torch.backends.mkldnn.flags(enabled=False):
        want = theirs(torch.tensor(_batch())).numpy()
    with distml.no_grad():
        got = ours(distml.tensor(_batch())).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    assert list(ours.state_dict()) == list(theirs.state_dict())
