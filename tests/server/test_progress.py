"""The server's terminal progress (server/progress.py): the run's true total, plain lines
when stdout is not a TTY, a tqdm bar when it is, messages above the bar."""
import io

from server.progress import Progress, planned_samples, plural

HP = {"epochs": 1, "max_samples": 25600, "mode": "fixed_global", "global_batch": 32}


def test_the_total_is_what_this_run_trains():
    assert planned_samples(HP, 60000) == 25600  # max_samples, not the epoch's 60,000
    assert planned_samples(dict(HP, max_samples=0), 60000) == 60000
    assert planned_samples(dict(HP, max_samples=0, epochs=3), 60000) == 180000
    assert planned_samples(HP, 60000, max_rounds=10) == 320  # 10 rounds of 32
    # with a batch that grows with the workers, max_rounds gives no fixed total
    assert planned_samples(dict(HP, mode="fixed_local"), 60000, max_rounds=10) == 25600
    assert (plural(1, "epoch"), plural(2, "epoch"), plural(1200, "round")) == \
        ("1 epoch", "2 epochs", "1,200 rounds")


def test_plain_lines_every_interval_and_at_the_end():
    now = [100.0]
    out = io.StringIO()
    p = Progress(25600, epochs=1, stream=out, every_s=10, tty=False, clock=lambda: now[0])
    for seen in range(32, 25601, 32):  # 800 rounds, one every 1/16 s (exact in binary)
        now[0] += 0.0625
        p.update(seen, 1, seen // 32, 0.5, 2)
    p.close()
    lines = out.getvalue().splitlines()
    assert "\r" not in out.getvalue()
    assert len(lines) == 6  # rounds 1, 161, 321, 481, 641 (every 10 s) and 800 (the end)
    assert lines[0].startswith("progress: 32/25,600 samples (0%), 0.0 samples/s, ETA -,")
    assert lines[1] == ("progress: 5,152/25,600 samples (20%), 512.0 samples/s, ETA 00:40, "
                        "epoch 1/1, round 161, loss 0.5000, 2 workers")
    assert lines[-1].startswith("progress: 25,600/25,600 samples (100%)")


def test_a_bar_on_a_tty_with_messages_above_it():
    out = io.StringIO()
    p = Progress(96, epochs=2, stream=out, tty=True)
    p.update(24, 1, 1, 1.25, 1)
    with p.external_write():
        out.write("worker w2 joined\n")
    p.update(48, 1, 2, None, 1)
    p.close()
    text = out.getvalue()
    assert "24/96 samples" in text and "48/96 samples" in text and "samples/s" in text
    assert "epoch 1/2, round 2, loss ?, 1 worker" in text
    assert "worker w2 joined\n" in text


def test_quiet_prints_nothing():
    out = io.StringIO()
    p = Progress(96, stream=out, tty=False, enabled=False)
    p.update(24, 1, 1, 1.0, 1)
    p.close()
    assert out.getvalue() == ""
