"""ConvTranspose2d / F.conv_transpose2d against torch (float64 reference, same weights):
forward, input, weight and bias gradients, output_size, state_dicts both ways, errors."""
import numpy as np
import pytest
from nn_reference import close, compare, dm, rand, torch, tt

import distml
import distml.nn as nn
import distml.nn.functional as F

tnn = torch.nn

CASES = [
    # id, constructor args (in, out, kernel, ...), input shape
    ("basic", (3, 4, 3), (2, 3, 5, 5)),
    ("stride2_pad1_outpad1", (3, 2, 3, 2, 1, 1), (2, 3, 4, 4)),
    ("dcgan_4x4", (4, 3, 4, 2, 1), (2, 4, 3, 3)),
    ("from_1x1", (5, 3, 4, 1, 0), (2, 5, 1, 1)),
    ("rect_dilation", dict(in_channels=2, out_channels=3, kernel_size=(3, 2), stride=(2, 1),
                           padding=(1, 0), dilation=2), (1, 2, 4, 5)),
    ("groups_nobias", dict(in_channels=4, out_channels=6, kernel_size=3, stride=2, groups=2,
                           bias=False), (2, 4, 3, 3)),
    ("unbatched", (2, 3, 3, 2), (2, 4, 4)),
    ("outpad_over_stride", dict(in_channels=2, out_channels=2, kernel_size=3, stride=(1, 2),
                                padding=1, output_padding=(1, 2), dilation=3), (1, 2, 3, 4)),
]


@pytest.mark.parametrize("name,args,shape", CASES, ids=[c[0] for c in CASES])
def test_conv_transpose2d_matches_torch(backend, name, args, shape):
    torch.manual_seed(0)

    def make(m):
        return m.ConvTranspose2d(**args) if isinstance(args, dict) else m.ConvTranspose2d(*args)
    t_mod, d_mod = make(tnn), make(nn)
    assert tuple(d_mod.weight.shape) == tuple(t_mod.weight.shape)
    compare(d_mod, t_mod, [rand(*shape)])


def test_output_size_and_functional(backend):
    torch.manual_seed(1)
    t_mod, d_mod = tnn.ConvTranspose2d(2, 3, 3, stride=2, padding=1), \
        nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1)
    compare(d_mod, t_mod, [rand(1, 2, 4, 4)], lambda m, x: m(x, output_size=[8, 8]))
    w, x = rand(2, 3, 3, 3, seed=2), rand(1, 2, 3, 3, seed=3)
    close(F.conv_transpose2d(dm(x), dm(w), stride=2, output_padding=1),
          torch.nn.functional.conv_transpose2d(tt(x), tt(w), stride=2, output_padding=1))


def test_is_adjoint_of_conv2d():
    """<conv2d(x), y> == <x, conv_transpose2d(y)> for the same weight."""
    w = distml.tensor(rand(4, 3, 3, 3))
    x = distml.tensor(rand(2, 3, 7, 7, seed=1))
    y = distml.tensor(rand(2, 4, 4, 4, seed=2))
    lhs = (F.conv2d(x, w, stride=2, padding=1) * y).sum().item()
    rhs = (x * F.conv_transpose2d(y, w, stride=2, padding=1)).sum().item()
    assert abs(lhs - rhs) < 1e-4 * max(1.0, abs(lhs))


def test_init_and_state_dict_round_trip():
    torch.manual_seed(2)
    d_mod = nn.ConvTranspose2d(4, 6, 3, groups=2)
    t_mod = tnn.ConvTranspose2d(4, 6, 3, groups=2)
    assert list(d_mod.state_dict()) == ["weight", "bias"]
    # torch's fan_in for the transposed layout is weight.size(1) * k * k = 3 * 9
    bound = 1 / np.sqrt(27)
    assert max(abs(v) for v in d_mod.bias.tolist()) <= bound
    t_mod.load_state_dict({k: torch.tensor(np.array(v.tolist(), dtype=np.float32))
                           for k, v in d_mod.state_dict().items()})
    x = rand(1, 4, 3, 3)
    close(d_mod(dm(x)), t_mod(torch.from_numpy(x)))
    assert repr(d_mod) == repr(t_mod)


def test_errors():
    m = nn.ConvTranspose2d(3, 2, 3, stride=2)
    with pytest.raises(RuntimeError, match="expected input\\[1, 4, 5, 5\\] to have 3 channels"):
        m(distml.zeros(1, 4, 5, 5))
    with pytest.raises(RuntimeError, match="Expected 3D \\(unbatched\\) or 4D"):
        m(distml.zeros(3, 5))
    with pytest.raises(RuntimeError, match="output padding must be smaller than either stride"):
        F.conv_transpose2d(distml.zeros(1, 3, 4, 4), m.weight, stride=2, output_padding=2)
    with pytest.raises(ValueError, match="requested an output size of \\[20, 20\\]"):
        m(distml.zeros(1, 3, 4, 4), output_size=(20, 20))
    with pytest.raises(ValueError, match='Only "zeros" padding mode'):
        nn.ConvTranspose2d(3, 2, 3, padding_mode="reflect")
