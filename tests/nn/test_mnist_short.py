"""A short MNIST run on a subset: the loss falls and accuracy clears a floor."""
import pytest

import distml
import distml.nn.functional as F
from distml.models import MnistCNN
from distml.utils.data import DataLoader, Subset


def test_mnist_subset_trains():
    from distml.datasets import MNIST
    try:
        train, test = MNIST(train=True), MNIST(train=False)
    except FileNotFoundError:
        pytest.skip("MNIST files not installed (bash run.sh setup)")
    distml.manual_seed(0)
    model = MnistCNN(width=8, hidden=64)
    opt = distml.optim.Adam(model.parameters(), lr=3e-3)
    loader = DataLoader(Subset(train, range(3000)), batch_size=50, shuffle=True,
                        generator=distml.Generator(0))
    losses = []
    for x, y in loader:
        opt.zero_grad()
        loss = F.cross_entropy(model((x - 0.1307) / 0.3081), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    first, last = sum(losses[:5]) / 5, sum(losses[-5:]) / 5
    assert last < first * 0.5, (first, last)
    model.eval()
    with distml.no_grad():
        x, y = next(iter(DataLoader(test, batch_size=1000)))
        accuracy = (model((x - 0.1307) / 0.3081).argmax(1) == y).float().mean().item()
    assert accuracy > 0.85, accuracy
