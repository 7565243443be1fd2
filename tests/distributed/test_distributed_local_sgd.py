"""Local SGD (mode "local_sgd"): each worker takes `local_steps` steps of its own optimizer
on its own samples, then the server averages the weights and BatchNorm statistics.

With one worker that is single-process training; with two, one round gives the mean of
two independent single-process runs on the two halves of the round's samples."""
from pathlib import Path

import numpy as np

import distml
from distml.distributed.experiment import load_experiment, state_arrays
from server.orchestrator import epoch_permutation
from test_distributed_server import assert_state_close, new_worker, scenario, start_server, train

EXP = Path(__file__).with_name("experiment_tiny_bn.py")  # with BatchNorm buffers
BATCH, STEPS = 8, 3


def local_run(start, indices, batch=BATCH):
    """Single-process training from the state `start` with a fresh optimizer, batches of
    `batch` from `indices` in order; the final state."""
    exp = load_experiment(EXP.read_bytes())
    model = exp.make_model()
    model.load_state_dict({k: distml.tensor(v) for k, v in start.items()})
    opt = exp.make_optimizer(model.parameters())
    data = exp.make_dataset(True)
    for pos in range(0, len(indices), batch):
        x, y = data.get_batch(indices[pos:pos + batch])
        opt.zero_grad()
        exp.loss_fn(model(x), y).backward()
        opt.step()
    return state_arrays(model)


def initial_state():
    exp = load_experiment(EXP.read_bytes())
    distml.manual_seed(exp.hyperparameters["seed"])  # as the server does
    return state_arrays(exp.make_model())


def run_server(n_workers, rounds):
    async def main():
        orch, transport = await start_server(EXP, max_rounds=rounds, overrides={
            "mode": "local_sgd", "local_batch": BATCH, "local_steps": STEPS,
            "min_workers": n_workers})
        workers = [await new_worker(transport.url) for _ in range(n_workers)]
        results = await train(orch, transport, workers)
        return orch, workers, results

    orch, workers, results = scenario(main())
    assert results == ["training finished"] * n_workers
    assert [h["samples"] for h in orch.history] == [n_workers * BATCH * STEPS] * rounds
    return orch, workers


def test_local_sgd_one_worker_equals_single_process():
    rounds = 3  # the worker's optimizer state carries over between rounds
    orch, workers = run_server(1, rounds)
    perm = epoch_permutation(0, 0, 96)
    want = local_run(initial_state(), perm[:rounds * BATCH * STEPS])
    assert int(want["1.num_batches_tracked"]) == rounds * STEPS
    assert_state_close(state_arrays(orch.model), want)
    assert workers[0].rounds_done == rounds


def test_local_sgd_two_workers_average_independent_runs():
    orch, workers = run_server(2, 1)
    perm = epoch_permutation(0, 0, 96)
    shard = BATCH * STEPS
    start = initial_state()
    runs = [local_run(start, perm[i * shard:(i + 1) * shard]) for i in range(2)]
    want = {k: (runs[0][k] + runs[1][k]) / 2 if runs[0][k].dtype == np.float32
            else runs[0][k] for k in start}
    assert_state_close(state_arrays(orch.model), want)
    # the workers' own weights moved apart; the server holds their mean
    assert not np.allclose(runs[0]["0.weight"], runs[1]["0.weight"])
    assert all(w.rounds_done == 1 for w in workers)
