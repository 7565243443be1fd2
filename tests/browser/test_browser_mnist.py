"""A short MNIST training run on the "webgl" device in headless Chromium: the loss falls,
the test accuracy passes a floor, and the texture counters show no leak across steps."""
import pytest

STEPS = 150
BATCH = 32

TRAIN = f"""
import gc, time, distml, distml.nn as nn, distml.nn.functional as F, distml.webgl


def mnist_run():
    from distml.backends import get_backend
    from distml.datasets import MNIST
    from distml.utils.data import DataLoader
    from distml.web import fetch_mnist

    be = get_backend("webgl")
    fetch_mnist()
    train, test = MNIST(train=True), MNIST(train=False)
    gc.collect()
    base = be.stats()
    distml.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 8, 3, stride=2, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
        nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
        nn.Flatten(), nn.Linear(16 * 7 * 7, 10)).to("webgl")
    opt = distml.optim.Adam(model.parameters(), lr=3e-3)
    loader = DataLoader(train, batch_size={BATCH}, shuffle=True, generator=distml.Generator(0))
    losses, live = [], []
    start = time.perf_counter()
    for step, (x, y) in enumerate(loader):
        if step == {STEPS}:
            break
        x, y = ((x - 0.1307) / 0.3081).to("webgl"), y.to("webgl")
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
        del x, y, loss
        live.append(be.stats()["live_textures"])
    seconds = time.perf_counter() - start
    model.eval()
    correct = 0
    with distml.no_grad():
        for i, (x, y) in enumerate(DataLoader(test, batch_size=500)):
            if i == 2:
                break
            pred = model(((x - 0.1307) / 0.3081).to("webgl")).argmax(1)
            correct += (pred == y.to("webgl")).sum().item()
    del model, opt, x, y, pred
    gc.collect()
    after = be.stats()
    return {{"losses": losses, "accuracy": correct / 1000, "live": live, "base": base,
            "after": after, "seconds": seconds}}


mnist_run()
"""


@pytest.fixture(scope="module")
def run(browser_python):
    # in a function: the page's namespace is shared with other tests, whose tensors must
    # not be released by this run's assignments (that would move the texture counters)
    return browser_python.run(TRAIN, timeout=900)


def test_loss_falls_and_accuracy_floor(run):
    first, last = run["losses"][:10], run["losses"][-10:]
    assert sum(last) / 10 < 0.5 * sum(first) / 10, run["losses"]
    assert run["accuracy"] >= 0.85, run["accuracy"]


def test_textures_do_not_leak_across_steps(run):
    live = run["live"]
    # after the first steps (optimizer state appears on step 1) every step ends with the
    # same live textures
    assert len(set(live[5:])) == 1, live
    base, after = run["base"], run["after"]
    assert after["live_textures"] == base["live_textures"], (base, after)
    assert after["live_bytes"] == base["live_bytes"], (base, after)
