"""An experiment's make_scheduler: the server steps it once per round, a resumed server
continues the schedule, and max_samples stops training (with a final evaluation)."""
from pathlib import Path

from test_distributed_server import new_worker, scenario, start_server, train

TINY = Path(__file__).with_name("experiment_tiny.py")
SCHEDULE = '''

def make_scheduler(optimizer):
    return distml.optim.lr_scheduler.LambdaLR(optimizer, lambda r: 1 / (1 + r))
'''


def run(experiment, **kw):
    async def main():
        orch, transport = await start_server(experiment, **kw)
        await train(orch, transport, [await new_worker(transport.url)])
        return orch

    return scenario(main())


def test_scheduler_steps_each_round_and_resumes(tmp_path):
    exp = tmp_path / "experiment_sched.py"
    exp.write_text(TINY.read_text() + SCHEDULE)
    orch = run(exp, max_rounds=3, checkpoint_dir=tmp_path / "ckpt")
    lr = orch.optimizer.param_groups[0]["lr"]
    assert abs(lr - 0.2 / 4) < 1e-12  # base lr 0.2, three steps
    resumed = run(exp, max_rounds=5, checkpoint_dir=tmp_path / "ckpt", resume=True)
    assert resumed.round == 5
    assert abs(resumed.optimizer.param_groups[0]["lr"] - 0.2 / 6) < 1e-12


def test_max_samples_stops_mid_epoch():
    orch = run(TINY, overrides={"max_samples": 60})  # 96 samples an epoch, batch 24
    assert [h["samples"] for h in orch.history] == [24, 24, 12]
    assert orch.samples_seen() == 60 and orch.status()["accuracy"][-1][0] == 60
