"""Hierarchical aggregation on Ray (`python -m server EXPERIMENT --ray [ADDRESS]`).

    gateway.py      a Ray actor terminating its own workers' websockets (the single
                    server's session and round code) and summing their answers per round
    coordinator.py  the Ray actor holding the model and the optimizer: splits each round
                    over the gateways, applies the step, publishes weights (`ray.put`)
    launch.py       starts or joins the cluster, the actors, and runs training

Nothing here is imported unless `--ray` is given: the single-process server needs no Ray.
"""
