# Train a CNN on MNIST, here in the page. Edit anything and press Run.
# The same code runs on CPython (python examples/playground/mnist_cnn.py).
import time

import distml
import distml.nn as nn
import distml.nn.functional as F
from distml.backends import cpu_backend_name
from distml.datasets import MNIST
from distml.models import MLP, MnistCNN
from distml.utils.data import DataLoader
from distml.web import fetch_mnist, report

device = "webgl" if distml.webgl.is_available() else "cpu"
print("loading MNIST...")
fetch_mnist()  # in the page: the server's IDX files into its file system
distml.manual_seed(0)
train_set, test_set = MNIST(train=True), MNIST(train=False)

if device == "webgl" or cpu_backend_name() == "numpy":
    model, batch_size, max_steps = MnistCNN(width=16), 64, 900  # ~1 epoch
else:  # no WebGL and no numpy: pure Python on the CPU, so a small MLP and fewer steps
    model, batch_size, max_steps = nn.Sequential(nn.Flatten(), MLP(784, [64], 10)), 32, 300
model = model.to(device)
optimizer = distml.optim.Adam(model.parameters(), lr=2e-3)
scheduler = distml.optim.lr_scheduler.CosineAnnealingLR(optimizer, max_steps)
loader = DataLoader(train_set, batch_size=batch_size, shuffle=True,
                    generator=distml.Generator(0))
print(f"training {type(model).__name__} on {device}, batch {batch_size}, {max_steps} steps")
report(step=0, max_steps=max_steps)  # the page shows "step 0 of N" at once


def evaluate(limit):
    model.eval()
    correct = 0
    with distml.no_grad():
        for i, (x, y) in enumerate(DataLoader(test_set, batch_size=500)):
            if i * 500 >= limit:
                break
            pred = model(((x - 0.1307) / 0.3081).to(device)).argmax(1)
            correct += (pred == y.to(device)).sum().item()
    model.train()
    return correct / min(limit, len(test_set))


step, start = 0, time.perf_counter()
last_step, last_time = 0, start  # samples/s over the steps since the last report
while step < max_steps:
    for x, y in loader:
        x, y = ((x - 0.1307) / 0.3081).to(device), y.to(device)
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        scheduler.step()
        step += 1
        if step <= 10 or step % 5 == 0:  # early and often: the first steps within seconds
            value = loss.item()  # the read-back waits for the step's GPU work
            now = time.perf_counter()
            rate = (step - last_step) * batch_size / (now - last_time)
            last_step, last_time = step, now
            report(step=step, max_steps=max_steps, loss=value, samples_per_s=rate)
            if step in (1, 10) or step % 50 == 0:
                print(f"step {step} of {max_steps}: loss {value:.4f}, {rate:.1f} samples/s")
        if step % 150 == 0:
            accuracy = evaluate(1000)
            report(step=step, accuracy=accuracy)
            print(f"step {step}: loss {loss.item():.4f}, test accuracy {accuracy:.2%} "
                  f"(1,000 images)")
        if step >= max_steps:
            break
accuracy = evaluate(len(test_set))
report(step=step, accuracy=accuracy)
minutes = (time.perf_counter() - start) / 60
print(f"done: {step} steps in {minutes:.1f} min, test accuracy {accuracy:.2%} "
      f"on {len(test_set)} test images")
