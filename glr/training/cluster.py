"""Who this process is in a training cluster, and the tf.distribute strategy it trains under.

The cluster comes from `TF_CONFIG`, the standard that Kubernetes (TFJob), Slurm
(`SlurmClusterResolver`) and Vertex set for each worker:
`{"cluster": {"worker": ["host0:port", "host1:port"]}, "task": {"type": "worker", "index": i}}`.
No `TF_CONFIG`, or a cluster of one, means one process under the default strategy (or
`MirroredStrategy` when the machine has several GPUs). Several workers train under
`MultiWorkerMirroredStrategy` with RING collectives (the CPU implementation).

Faults are bounded by TensorFlow's coordination service: a worker that cannot register
with the others within START_TIMEOUT_SECONDS gives up (the message names the addresses
that did not answer), and a peer whose heartbeat stops for HEARTBEAT_SECONDS makes the
others' collectives fail with an error instead of hanging.

The chief (task 0; or the task of type "chief") writes the run folder; every other worker
trains on a private copy of it in a temporary folder (`worker_run`), as TensorFlow's
multi-worker guide says, and that copy is deleted at the end.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path

from glr.errors import GlrError
from glr.training.run import Run

TF_CONFIG = "TF_CONFIG"
THREADS_ENV = "GLR_THREADS"  # intra- and inter-op threads of a worker (set by the local launcher)
START_TIMEOUT_SECONDS = int(os.environ.get("GLR_CLUSTER_START_TIMEOUT", "120"))
HEARTBEAT_SECONDS = int(os.environ.get("GLR_CLUSTER_HEARTBEAT", "10"))
JOBS = ("chief", "worker")  # the tasks that train; "evaluator" and "ps" take no part here


class ClusterError(GlrError):
    """TF_CONFIG is malformed, or the other workers cannot be reached."""


@dataclass(frozen=True)
class Cluster:
    """The training tasks of a cluster (chief first) and this process's place among them."""

    addresses: tuple[str, ...]
    index: int

    @property
    def size(self) -> int:
        """How many workers train."""
        return len(self.addresses)

    @property
    def is_chief(self) -> bool:
        """Task 0 (or the "chief" task): the one that writes the run folder."""
        return self.index == 0

    @property
    def address(self) -> str:
        """This worker's own address."""
        return self.addresses[self.index]

    def peers(self) -> list[str]:
        """The other workers' addresses."""
        return [a for i, a in enumerate(self.addresses) if i != self.index]


def cluster_from_env(env=None) -> Cluster | None:
    """The cluster that `TF_CONFIG` describes, or None for one process (no TF_CONFIG or a single worker)."""
    text = (os.environ if env is None else env).get(TF_CONFIG, "").strip()
    if not text:
        return None
    try:
        config = json.loads(text)
        jobs, task = config["cluster"], config.get("task", {})
        addresses = [a for job in JOBS for a in jobs.get(job, [])]
        kind, index = task.get("type", "worker"), int(task.get("index", 0))
        if kind not in JOBS:
            raise ClusterError(f"TF_CONFIG task type {kind!r} does not train; glr runs 'chief' and 'worker' tasks")
        position = index + (len(jobs.get("chief", [])) if kind == "worker" else 0)
        if not 0 <= position < len(addresses) or not jobs.get(kind):
            raise ClusterError(f"TF_CONFIG task {kind}:{index} is not in its cluster ({len(addresses)} workers)")
    except ClusterError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ClusterError(f"TF_CONFIG is not a valid cluster description ({exc.__class__.__name__}: {exc}); "
                           'expected {"cluster": {"worker": [...]}, "task": {"type": "worker", "index": i}}') from None
    return Cluster(tuple(addresses), position) if len(addresses) > 1 else None


def reachable(address: str, seconds: float = 2.0) -> bool:
    """Whether something listens at host:port."""
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=seconds):
            return True
    except (OSError, ValueError):
        return False


def _configure(cluster: Cluster) -> None:
    """Threads and the coordination service's time limits; must run before TensorFlow's first op."""
    import tensorflow as tf
    from tensorflow.compiler.xla.tsl.protobuf.coordination_config_pb2 import CoordinatedJob
    from tensorflow.python.distribute import multi_worker_util
    from tensorflow.python.distribute.cluster_resolver import TFConfigClusterResolver
    from tensorflow.python.eager import context

    threads = int(os.environ.get(THREADS_ENV, "0") or 0)
    if threads:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    spec = TFConfigClusterResolver().cluster_spec()
    jobs = [CoordinatedJob(name=j, num_tasks=spec.num_tasks(j)) for j in JOBS if j in spec.jobs]
    # MultiWorkerMirroredStrategy would set the same service up with no time limits: set it
    # first, bounded, so a dead or absent peer ends in an error rather than a hang.
    context.context().configure_coordination_service(
        service_type="standalone", service_leader=multi_worker_util.coordination_leader(spec),
        cluster_register_timeout_in_ms=START_TIMEOUT_SECONDS * 1000, heartbeat_timeout_in_ms=HEARTBEAT_SECONDS * 1000,
        shutdown_barrier_timeout_in_ms=START_TIMEOUT_SECONDS * 1000, coordinated_jobs=jobs)


def make_strategy(cluster: Cluster | None):
    """The strategy to train under: the default one for one process, MultiWorkerMirroredStrategy for a cluster.

    Creating it waits until every worker is up (at most START_TIMEOUT_SECONDS), so call it
    before any other TensorFlow op. ClusterError names the peers that did not answer.
    """
    import tensorflow as tf

    from glr.training.processes import exit_quickly

    if cluster is None or cluster.is_chief:
        # It ends seconds sooner once its outcome is written; its launcher waits for it. The other workers exit
        # as ever: their last collection also tells the coordination service they left (else, while the chief
        # evaluates, it logs them "unhealthy"), and once the chief is gone their launcher ends them (workers.py).
        exit_quickly()
    if cluster is None:
        gpus = tf.config.list_physical_devices("GPU")
        return tf.distribute.MirroredStrategy() if len(gpus) > 1 else tf.distribute.get_strategy()
    _configure(cluster)
    options = tf.distribute.experimental.CommunicationOptions(
        implementation=tf.distribute.experimental.CommunicationImplementation.RING)
    try:
        return tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
    except (tf.errors.OpError, RuntimeError) as exc:
        first = (str(exc).strip().splitlines() or [exc.__class__.__name__])[0][:300]
        if "Could not start gRPC server" in str(exc):
            # Its own port taken: waiting for the others, or checking TF_CONFIG, would not help. (Asking
            # the port afterwards would not tell: a server that did start holds it until exit.)
            raise ClusterError(f"worker {cluster.index} could not listen on its own address {cluster.address}: "
                               "the port is in use by another program; free it or give this worker another port "
                               f"in TF_CONFIG (--workers N picks new free ports when started again) ({first})") from None
        silent = [a for a in cluster.peers() if not reachable(a)] or cluster.peers()
        raise ClusterError(f"worker {cluster.index} ({cluster.address}) could not reach {', '.join(silent)} "
                           f"within {START_TIMEOUT_SECONDS} s; is every worker started with the same TF_CONFIG? "
                           f"({first})") from None


def off_strategy(model):
    """`model` (in place) with Keras' predict run under the default strategy, not the one it was built in.

    Keras records the strategy a model is built in and runs its predict under it, which fails under
    MultiWorkerMirroredStrategy (keras-team/keras#20585). The chief evaluates alone, after training, so
    it runs the model as a plain one: its variables are read as they are, every worker holding the same
    values, with no collective. The chief loaded a plain copy from model.keras instead: 3.5 s of a tiny
    `--workers 2` run's end (benchmarks/README.md, "The fixed costs after the last epoch").
    """
    for part in model._flatten_layers():  # the model itself and its nested models (backbone, head)
        if getattr(part, "_distribute_strategy", None) is not None:
            part._distribute_strategy = None
    return model


def worker_run(run: Run, cluster: Cluster) -> Run:
    """A non-chief worker's private copy of the run folder, in a temporary folder.

    It holds what the trainer reads (configuration, history and checkpoints, for a
    resume) so the worker trains exactly as the chief does, and takes everything the
    worker writes, which the chief's folder must never get. Delete it with `drop_worker_run`.
    """
    from glr.training.processes import process_started_at

    drop_orphaned_worker_runs()
    owner = f"{os.getpid()}-{process_started_at():.0f}"
    path = Path(tempfile.mkdtemp(prefix=f"glr-worker{cluster.index}-{owner}-")) / run.id
    path.mkdir()
    copy = Run(path)
    shutil.copy2(run.config_path, copy.config_path)
    for name in ("history_path", "labels_path", "split_path"):  # a resume trains on the run's own recorded split
        if getattr(run, name).exists():
            shutil.copy2(getattr(run, name), getattr(copy, name))
    if run.checkpoint_dir.is_dir():
        shutil.copytree(run.checkpoint_dir, copy.checkpoint_dir)
    return copy


def cluster_run(path: str | os.PathLike, config, cluster: Cluster | None) -> Run:
    """The run folder `<results>/runs/<id>` that every worker of a cluster names with `--run-dir`.

    The chief creates it (with `config`, a TrainConfig) if it does not exist yet; the other
    workers wait for its configuration (at most START_TIMEOUT_SECONDS) and never create it.
    """
    import time

    from glr.training.launch import run_config

    path = Path(path).absolute()
    if path.parent.name != "runs":
        raise ClusterError(f"--run-dir {path}: a new cluster run's folder must be <results>/runs/<run id>")
    run = Run(path)
    if (cluster is None or cluster.is_chief) and not path.exists():
        return Run.create(path.parent.parent, run_config(config), run_id=path.name)
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while not run.config_path.exists():
        if time.monotonic() > deadline:
            raise ClusterError(f"worker {cluster.index}: the chief ({cluster.addresses[0]}) did not create {path} "
                               f"within {START_TIMEOUT_SECONDS} s; is the results folder shared?")
        time.sleep(0.5)
    return run


def drop_worker_run(copy: Run) -> None:
    """Delete a worker's temporary run folder."""
    shutil.rmtree(copy.path.parent, ignore_errors=True)


def drop_orphaned_worker_runs(folder: str | os.PathLike | None = None) -> list[Path]:
    """Delete the temporary run folders of workers that are gone (killed, so their own `drop_worker_run` never ran).

    Each folder's name holds its worker's pid and start time, `glr-worker<index>-<pid>-<start>-<random>` (a launcher's
    folder of its workers' temporary files: `glr-workers-<pid>-<start>-<random>`); a folder whose process still runs,
    or whose name says no owner (made by an older glr), is left. Returns those deleted.
    """
    import re

    from glr.training.processes import pid_alive

    dropped = []
    for path in Path(folder or tempfile.gettempdir()).glob("glr-worker*-*-*-*"):
        owner = re.fullmatch(r"glr-worker(?:\d+|s)-(\d+)-(\d+)-.+", path.name)
        if owner and path.is_dir() and not pid_alive(owner[1], owner[2]):
            shutil.rmtree(path, ignore_errors=True)
            dropped.append(path)
    return dropped


def lost_worker_message(exc: BaseException) -> str:
    """A collective that failed because a worker died or hung up, said in one line."""
    import re

    first = re.sub(r"\{\{.*?\}\}\s*", "", (str(exc).strip().splitlines() or [""])[0])[:300]  # drop TF's op name
    return (f"a worker stopped answering, so training stopped ({exc.__class__.__name__}: {first}); "
            "--resume continues from the last checkpoint, with the same or another number of workers")
