"""Train the MNIST CNN with distml: an ordinary PyTorch-style loop.

    python examples/mnist.py [--epochs 3] [--batch-size 64] [--device cpu] [--limit N]

Port of a torch script: only the imports differ (distml for torch, distml.datasets for
torchvision.datasets).
"""
import argparse
import sys
import time

import distml
import distml.nn.functional as F
import distml.optim as optim
from distml.datasets import MNIST
from distml.models import MnistCNN
from distml.utils.data import DataLoader, Subset

MEAN, STD = 0.1307, 0.3081


def normalize(x):
    return (x - MEAN) / STD


def progress(epoch, done, total, loss, rate, width=30):
    filled = int(width * done / total)
    bar = "#" * filled + "." * (width - filled)
    end = "\n" if done == total else ""
    sys.stdout.write(f"\repoch {epoch} [{bar}] {done}/{total} loss {loss:.4f} "
                     f"{rate:.0f} samples/s{end}")
    sys.stdout.flush()


def train_epoch(model, loader, optimizer, scheduler, device, epoch, quiet=False):
    model.train()
    seen, start, loss_value = 0, time.perf_counter(), float("nan")
    for i, (x, y) in enumerate(loader):
        x, y = normalize(x).to(device), y.to(device)
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        scheduler.step()  # cosine decay per batch over the whole run
        seen += x.shape[0]
        if i % 10 == 0 or i == len(loader) - 1:
            loss_value = loss.item()  # the one read-back per logged step
            if not quiet:
                progress(epoch, i + 1, len(loader), loss_value,
                         seen / (time.perf_counter() - start))
    return loss_value, seen / (time.perf_counter() - start)


@distml.no_grad()
def evaluate(model, loader, device):
    model.eval()
    correct = total = 0
    for x, y in loader:
        pred = model(normalize(x).to(device)).argmax(dim=1)
        correct += (pred == y.to(device)).sum().item()
        total += y.shape[0]
    return correct / total


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--device", default="cpu")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--limit", type=int, default=0, help="train on the first N images only")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args(argv)

    distml.manual_seed(args.seed)
    train_set, test_set = MNIST(train=True), MNIST(train=False)
    if args.limit:
        train_set = Subset(train_set, range(args.limit))
    train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True,
                              generator=distml.Generator(args.seed))
    test_loader = DataLoader(test_set, batch_size=1000)

    model = MnistCNN().to(args.device)
    optimizer = optim.Adam(model.parameters(), lr=args.lr)
    steps = args.epochs * len(train_loader)
    scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"distml {distml.__version__}: MnistCNN ({n_params:,} parameters) on "
          f"{args.device} [{distml.backends.cpu_backend_name()} backend], "
          f"{len(train_set)} training images, batch {args.batch_size}")

    accuracy = 0.0
    for epoch in range(1, args.epochs + 1):
        loss, rate = train_epoch(model, train_loader, optimizer, scheduler, args.device,
                                 epoch, args.quiet)
        accuracy = evaluate(model, test_loader, args.device)
        print(f"epoch {epoch}: loss {loss:.4f}, {rate:.0f} samples/s, "
              f"test accuracy {accuracy * 100:.2f}%")
    return accuracy


if __name__ == "__main__":
    main()
