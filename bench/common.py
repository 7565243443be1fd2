"""Small pieces the benchmark scripts share (they run as scripts: bench/ is on sys.path)."""
import argparse
import json
import os
import statistics
import sys


def names(choices):
    """An argparse type: a comma-separated list of names, each one of `choices`."""
    def parse(text):
        listed = [v.strip() for v in text.split(",") if v.strip()]
        bad = [n for n in listed if n not in choices]
        if bad:
            raise argparse.ArgumentTypeError(f"unknown {bad}; choose from {list(choices)}")
        return listed
    return parse


def median_ms(times):
    """The median of times in seconds, in ms (3 decimals), as the JSON records it."""
    return round(statistics.median(times) * 1000, 3)


def write_json(path, result):
    """Write `result` to `path` atomically (a reader never sees half a file)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as fh:
        json.dump(result, fh, indent=1)
    os.replace(tmp, path)


def save_figure(fig, path):
    """Lay out a matplotlib figure, write it to `path` (PNG, 110 dpi), close it; `path`."""
    import matplotlib.pyplot as plt
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def pyplot():
    """matplotlib.pyplot on the Agg backend, or None (said on stderr) where matplotlib is
    missing: a benchmark still writes its JSON without it."""
    try:
        import matplotlib
    except ImportError:
        print("matplotlib is missing (pip install -e .[dev]): no plot", file=sys.stderr)
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt
