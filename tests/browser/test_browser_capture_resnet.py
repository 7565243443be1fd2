"""distml.compile on the benchmarks' largest model: ResNet-18 (ImageNet stem: strided 7x7
conv, max pool, the downsampling blocks' 1x1 convs, adaptive average pool) trained with SGD
momentum in headless Chromium, captured steps equal to eager steps bit for bit. Its 11 M
weights are compared in the page (as lists they would not fit in one JSON answer)."""
import pytest

from .test_browser_capture import PRELUDE

CODE = PRELUDE + """
from distml.models import resnet18

def train_resnet(compiled):
    distml.manual_seed(0)
    model = resnet18(num_classes=10, stem="imagenet").to("webgl")
    opt = distml.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    step = step_of(model, opt)
    fn = distml.compile(step) if compiled else step
    distml.manual_seed(1)
    losses, per_step = [], []
    for _ in range(8):
        x = distml.randn(2, 3, 32, 32).to("webgl")
        y = distml.randint(0, 10, (2,)).to("webgl")
        d0, c0, _ = stats()
        f0 = distml.webgl.stats()["js"]["mrtFramebuffers"]
        loss = fn(x, y)
        d1, c1, _ = stats()
        per_step.append([d1 - d0, c1 - c0, distml.webgl.stats()["js"]["mrtFramebuffers"] - f0])
        losses.append(loss.item())
    # a replay writes the gradients too (a fused update can copy one out of a product)
    state = dict(model.state_dict())
    state.update((k + ".grad", p.grad) for k, p in model.named_parameters())
    return state, losses, per_step, getattr(fn, "replays", 0)

eager, cap = train_resnet(False), train_resnet(True)
different = [k for k, v in eager[0].items()
             if v.shape != cap[0][k].shape or (v != cap[0][k]).sum().item() != 0]
{"keys": len(eager[0]), "same_keys": list(eager[0]) == list(cap[0]), "different": different,
 "losses": [eager[1], cap[1]], "per_step": [eager[2], cap[2]], "replays": cap[3]}
"""


@pytest.fixture(scope="module")
def page(browser_python):
    assert browser_python.run(PRELUDE + "distml.webgl.is_available()")
    return browser_python


def test_resnet18_sgd_momentum_replays_bit_for_bit(page):
    out = page.run(CODE, timeout=900)
    # every parameter (and its gradient), running statistic and num_batches_tracked of
    # the 20 BatchNorms
    assert out["keys"] == 122 + 62 and out["same_keys"]
    assert out["different"] == []
    assert out["losses"][1] == out["losses"][0]  # bit for bit: float == float
    assert out["replays"] >= 4
    eager, cap = out["per_step"]
    assert cap[-1][1] == 1 and cap[-1][0] < eager[-1][0], (cap, eager)
    # a replay draws into the framebuffers (sets of render targets) it made two replays
    # before (state textures swap every step): none is made again, none evicted
    assert cap[-1][2] == cap[-2][2] == 0, cap
    print(f"\nResNet-18: draws per step eager {eager[-1][0]}, captured {cap[-1][0]}")
