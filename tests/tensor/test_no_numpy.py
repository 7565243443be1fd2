"""The browser path needs no numpy: with numpy unimportable, distml imports and trains."""
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import sys
    sys.modules["numpy"] = None  # any `import numpy` now raises ImportError
    import distml
    import distml.nn as nn
    import distml.nn.functional as F
    from distml.utils.data import DataLoader, TensorDataset
    assert distml.backends.cpu_backend_name() == "python"
    assert not distml.webgl.is_available()
    distml.manual_seed(0)
    x = distml.randn(64, 4)
    y = (x[:, 0] + x[:, 1] > 0).long()
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 2))
    opt = distml.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
    losses = []
    for epoch in range(15):
        for xb, yb in DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True):
            opt.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
        losses.append(loss.item())
    acc = (model(x).argmax(1) == y).float().mean().item()
    assert "numpy" not in [m for m in sys.modules if sys.modules[m] is not None], "numpy loaded"
    print(losses[0], losses[-1], acc)
    assert losses[-1] < losses[0] and acc > 0.9, (losses, acc)
""")


def test_trains_without_numpy():
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
