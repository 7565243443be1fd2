"""Start (or join) a Ray cluster, the gateways and the coordinator, and train.

    python -m server EXPERIMENT --ray [ADDRESS] --gateways N [the server's flags]

Without ADDRESS a local Ray instance is started; with one (`ray start --head` printed it,
e.g. 10.0.0.1:6379) the actors join that cluster and the gateways are spread over its
nodes. Gateway i listens on --port + i of its node (--host 0.0.0.0 to be reachable from
other machines); its ws URL is printed. Workers take the list of all the gateways' URLs
(`python -m distml.distributed.worker URL1 URL2 ... --reconnect N`): they start on the
first and move to the next when theirs goes away.
"""
import os
import sys
import time
from pathlib import Path

# the folder holding our top-level package (`server`, or `distml` if the server moves in)
ROOT = Path(sys.modules[__name__.split(".")[0]].__file__).resolve().parents[1]


def connect(address=None, **init_kw):
    """ray.init for a new local instance (address None/"") or an existing cluster; the
    actors' processes import `server` (and this checkout's distml) from ROOT."""
    import ray
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    runtime_env = {"env_vars": {"PYTHONPATH": path}}
    if address:
        ray.init(address=address, runtime_env=runtime_env, **init_kw)
    else:
        init_kw.setdefault("include_dashboard", False)
        ray.init(runtime_env=runtime_env, **init_kw)
    return ray


def shipped(experiment):
    """(file name, source): the actors write it out on their own node."""
    path = Path(experiment)
    return path.name, path.read_bytes()


def start_gateways(experiment, token, n, host="127.0.0.1", ports=None, max_restarts=3,
                   transport_kw=None, **orchestrator_kw):
    """n gateway actors, listening; (handles, ws URLs)."""
    import ray
    from .gateway import Gateway
    actor = ray.remote(Gateway).options(num_cpus=0, max_restarts=max_restarts,
                                        scheduling_strategy="SPREAD")
    ports = list(ports or [0] * n)
    gateways = [actor.remote(shipped(experiment), token, host, port,
                             transport_kw=transport_kw, **orchestrator_kw)
                for port in ports]
    urls = ray.get([g.start.remote() for g in gateways])
    ray.get([g.set_gateways.remote(urls) for g in gateways])  # for their /gateways
    return gateways, urls


def start_coordinator(experiment, token, gateways, max_restarts=0, dashboard=None, **kw):
    """The coordinator actor; with `dashboard` (host, port) it serves the dashboard
    there (`ray.get(coordinator.start_dashboard.remote())` is its http URL)."""
    import ray
    from .coordinator import CoordinatorActor
    actor = ray.remote(CoordinatorActor).options(num_cpus=0, max_restarts=max_restarts)
    return actor.remote(shipped(experiment), token, gateways, dashboard=dashboard,
                        progress=False, **kw)


def train(coordinator, gateways, restarts=0, say=print):
    """Run the coordinator to the end (again after each of the `restarts` restarts Ray
    makes of it: it resumes from its checkpoint); then the gateways say bye."""
    import ray
    from ray.exceptions import ActorUnavailableError, RayActorError
    died = 0
    try:
        while True:
            try:
                return ray.get(coordinator.run.remote())
            except ActorUnavailableError:  # restarting: ask again
                time.sleep(0.5)
            except RayActorError as e:
                died += 1
                if died > restarts:
                    raise
                say(f"the coordinator died ({type(e).__name__}); it resumes from its "
                    f"checkpoint")
    finally:
        for g in gateways:
            try:
                ray.get(g.finish.remote(), timeout=20)
            except Exception:  # a dead gateway has nobody to say bye to
                pass


def run(args, overrides):
    """`python -m server --ray`: the cluster, the actors, training; returns 0."""
    n = args.gateways
    problem = ("--gateways must be at least 1" if n < 1 else
               "--ray sums the gateways' updates: only --aggregate mean, no --max-grad-norm"
               if args.aggregate != "mean" or args.max_grad_norm is not None else None)
    if problem:
        print(f"python -m server: error: {problem}", file=sys.stderr)
        return 2
    ray = connect(args.ray)
    common = dict(aggregate=args.aggregate, max_grad_norm=args.max_grad_norm,
                  compression=args.compression, overrides=overrides, max_frame=args.max_size,
                  view_token=args.view_token, hello_timeout_s=args.hello_timeout,
                  login_delay_s=args.login_delay, max_norm_ratio=args.max_norm_ratio,
                  deadline_factor=args.deadline_factor, deadline_floor_s=args.deadline_floor)
    from ..transport import Link
    link = Link.from_flags(args.link_rate_mbps, args.link_delay_ms)
    ports = [args.port + i if args.port else 0 for i in range(n)]
    gateways, urls = start_gateways(
        args.experiment, args.workers_token, n, args.host, ports,
        transport_kw=dict(max_size=args.max_size, link=link,
                          max_connections=args.max_connections,
                          max_per_address=args.max_connections_per_address), **common)
    print(f"distml on Ray ({ray.get_runtime_context().gcs_address}): {args.experiment}, "
          f"{n} gateways", flush=True)
    for i, url in enumerate(urls):
        print(f"gateway {i}: {url}", flush=True)
    print(f"workers: python -m distml.distributed.worker {' '.join(urls)} "
          f"--token {args.workers_token} --reconnect 5", flush=True)
    restarts = 3 if args.checkpoint_dir else 0
    coordinator = start_coordinator(
        args.experiment, args.workers_token, gateways, max_restarts=restarts,
        checkpoint_dir=args.checkpoint_dir, checkpoint_every=args.checkpoint_every,
        resume=args.resume, max_rounds=args.max_rounds,
        dashboard=(args.host, args.port + n if args.port else 0), **common)
    dashboard = ray.get(coordinator.start_dashboard.remote())
    print(f"dashboard: {dashboard}/?token={args.workers_token}", flush=True)
    summary = train(coordinator, gateways, restarts)
    if summary["accuracy"]:
        print(f"test accuracy {summary['accuracy'][-1][1] * 100:.2f}% after "
              f"{summary['round']} rounds")
    ray.shutdown()
    return 0
