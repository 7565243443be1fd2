"""Device selection, distributions and the added optimizers in the browser: the webgl
device is the accelerator there, and the composed rules run on it as on the cpu."""
import pytest

PRELUDE = "import json, distml\n"


@pytest.fixture(scope="module")
def webgl(browser_python):
    if not browser_python.run(PRELUDE + "distml.webgl.is_available()"):
        pytest.skip("this Chromium has no WebGL2 with float32 render targets")
    return browser_python


def test_accelerator_is_the_webgl_device(webgl):
    out = webgl.run(PRELUDE + (
        "acc = distml.accelerator\n"
        "dev = acc.current_accelerator() if acc.is_available() else distml.device('cpu')\n"
        "m = distml.nn.Linear(3, 2).to(dev)\n"
        "y = m(distml.ones(4, 3).to(dev))\n"
        "acc.synchronize()\n"
        "{'type': dev.type, 'count': acc.device_count(), 'index': acc.current_device_index(),"
        " 'out': str(y.device), 'cuda': distml.cuda.is_available(), 'is_cuda': y.is_cuda,"
        " 'allocated': acc.memory_allocated() > 0}"))
    assert out == {"type": "webgl", "count": 1, "index": 0, "out": "webgl", "cuda": False,
                   "is_cuda": False, "allocated": True}


def test_distributions_and_optimizers_on_webgl_follow_cpu(webgl):
    out = webgl.run(PRELUDE + (
        "from distml.distributions import Bernoulli, Categorical, Normal\n"
        "res = {}\n"
        "for dev in ('cpu', 'webgl'):\n"
        "    distml.manual_seed(5)\n"
        "    logits = distml.tensor([[0.5, -1.0, 2.0], [0.0, 0.3, -0.2]], device=dev,"
        " requires_grad=True)\n"
        "    c = Categorical(logits=logits)\n"
        "    a = c.sample((3,))\n"
        "    loss = (c.log_prob(a).sum() - c.entropy().sum()"
        " + Bernoulli(logits=logits).entropy().sum()"
        " + Normal(logits, 2.0).log_prob(logits * 0.5).sum())\n"
        "    loss.backward()\n"
        "    w = distml.tensor([1.0, -2.0, 0.5], device=dev, requires_grad=True)\n"
        "    steps = []\n"
        "    for name, kw in (('RMSprop', dict(lr=0.01, momentum=0.9, centered=True)),"
        " ('Adagrad', dict(lr=0.1)), ('Adadelta', dict())):\n"
        "        opt = getattr(distml.optim, name)([w], **kw)\n"
        "        for _ in range(3):\n"
        "            opt.zero_grad()\n"
        "            (w * w * w).sum().backward()\n"
        "            opt.step()\n"
        "        steps.append(w.tolist())\n"
        "    res[dev] = {'actions': a.tolist(), 'loss': loss.item(),"
        " 'grad': logits.grad.tolist(), 'w': steps}\n"
        "res"))
    cpu, gl = out["cpu"], out["webgl"]
    assert gl["actions"] == cpu["actions"]
    assert gl["loss"] == pytest.approx(cpu["loss"], rel=1e-5)
    for a, b in zip(gl["grad"], cpu["grad"]):
        assert a == pytest.approx(b, rel=1e-4, abs=1e-5)
    for a, b in zip(gl["w"], cpu["w"]):
        assert a == pytest.approx(b, rel=1e-4, abs=1e-5)
