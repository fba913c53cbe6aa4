"""Training with 2 local workers (glr.training.workers, cluster, loop): one run folder, the same model, faults.

One 2-worker run is shared by the assertions about it (module fixture): starting TensorFlow
in two processes costs seconds each on this machine.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from conftest import TINY_TRAIN, image_id, tiny_config
from glr.training import cluster as cluster_module
from glr.training.cluster import Cluster, ClusterError, cluster_from_env, cluster_run
from glr.training.launch import new_run
from glr.training.run import runs_dir
from glr.training.trainer import train_run
from glr.training.workers import free_ports, worker_env

TIMEOUT = 600
# A val accuracy of the 2-worker run within one validation photo of the single process's.
ONE_PHOTO = 1.0


def cli_args(**overrides) -> list[str]:
    values = {**TINY_TRAIN, **overrides}
    return [arg for key, value in values.items() for arg in (f"--{key.replace('_', '-')}", str(value))]


def glr_train(data, results, *extra, tmp=None, wait=True, **overrides):
    env = dict(os.environ, TMPDIR=str(tmp)) if tmp else None
    # The linear probe, like the single-process finished_run (the CLI's default would decide by itself).
    argv = [sys.executable, "-m", "glr", "train", str(data), "--results", str(results), *cli_args(**overrides),
            "--no-fine-tune", *extra]
    if wait:
        return subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT, env=env)
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)


def only_run(results):
    from glr.training.run import Run

    (path,) = list(runs_dir(results).iterdir())
    return Run(path)


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory, tiny_data):
    """A finished 2-worker run (the CLI's --workers 2) and its output; its workers' temp folder."""
    tmp = tmp_path_factory.mktemp("workers-tmp")
    results = tmp_path_factory.mktemp("two-workers")
    done = glr_train(tiny_data, results, "--workers", "2", tmp=tmp)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return only_run(results), done.stdout + done.stderr, tmp


def test_both_workers_end_with_identical_weights(two_workers):
    run, output, _ = two_workers
    digests = dict(line.split(": final weights ") for line in output.splitlines() if ": final weights " in line)
    assert set(digests) == {"worker 0", "worker 1"}, output[-3000:]
    assert digests["worker 0"] == digests["worker 1"] == run.status()["weights_digest"]
    # The outcome once (the launcher's), not again from the chief as if two runs had finished.
    assert output.count("finished: top-1") == 1 and output.count("top-5 ") == 2, output[-3000:]


def test_the_chief_folder_is_complete_and_worker_1_wrote_nothing(two_workers, finished_run):
    from test_train import assert_run_parses

    run, _, tmp = two_workers
    status = run.status()
    assert status["state"] == "finished" and status["workers"] == 2
    assert_run_parses(run)
    # The same files as a single-process run; one history row per epoch (nobody else appended).
    files = lambda r: sorted(p.relative_to(r.path).as_posix() for p in r.path.rglob("*") if p.is_file())  # noqa: E731
    assert files(run) == [f for f in files(finished_run) if f != "train.log"]
    assert run.history()["epoch"].tolist() == list(range(1, TINY_TRAIN["epochs"] + 1))
    assert status["pid"] == status["worker_pids"][0]  # the chief wrote the status
    assert not list(tmp.glob("glr-worker*")), "worker 1's temporary run folder was left behind"


def test_two_workers_equal_one_process_within_a_photo(two_workers, finished_run):
    run, _, _ = two_workers
    ours, single = run.history().iloc[-1], finished_run.history().iloc[-1]
    val = run.config()["dataset"]["val"]
    assert abs(ours["val_accuracy"] - single["val_accuracy"]) <= ONE_PHOTO / val + 1e-9
    assert abs(run.metrics()["top1"] - finished_run.metrics()["top1"]) <= ONE_PHOTO / val + 1e-9


def test_killed_worker_fails_the_run_and_resume_finishes_it(tmp_path, tiny_data, monkeypatch):
    # The chief's collective waits for the coordination service to call the killed worker gone: a shorter heartbeat
    # (10 s by default; 4 s still far above a loaded machine's pauses) ends that wait sooner.
    monkeypatch.setenv("GLR_CLUSTER_HEARTBEAT", "4")
    results, tmp = tmp_path / "results", tmp_path / "tmp"
    tmp.mkdir()
    proc = glr_train(tiny_data, results, "--workers", "2", tmp=tmp, wait=False, epochs=400, batch_size=1, patience=1000)
    try:
        deadline = time.monotonic() + TIMEOUT
        while not (runs_dir(results).is_dir() and any(runs_dir(results).iterdir())
                   and (only_run(results).status().get("epoch") or 0) >= 1):  # killed in epoch 2, mid-training
            assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read()[-3000:]
            time.sleep(0.2)
        run = only_run(results)
        os.kill(run.status()["worker_pids"][1], signal.SIGKILL)
        killed = time.monotonic()
        proc.wait(timeout=120)
        # The chief notices within the heartbeat (4 s) and the launcher's grace; far sooner than a hang.
        assert time.monotonic() - killed < 90
    finally:
        if proc.poll() is None:
            proc.kill()
    status = run.status()
    assert status["state"] == "failed" and "worker 1 was killed by SIGKILL" in status["message"], status["message"]
    assert "--resume" in status["message"]
    # Killed, worker 1 could not delete its private copy of the run; the launcher did (they were left in /tmp).
    assert not list(tmp.glob("glr-worker*")), list(tmp.iterdir())
    # Resume in one process (another number of workers), a couple of epochs past the checkpoint.
    config = run.config()
    config["train"]["epochs"] = int(run.history()["epoch"].max()) + 2
    (run.path / "config.json").write_text(json.dumps(config))
    train_run(run, resume=True)
    assert run.status()["state"] == "finished"
    epochs = run.history()["epoch"].tolist()
    assert epochs == list(range(1, len(epochs) + 1))


def test_a_gone_workers_private_run_folder_is_dropped_a_live_ones_kept(tmp_path):
    from glr.training.processes import process_started_at

    me = f"{os.getpid()}-{process_started_at():.0f}"
    names = {"live": f"glr-worker1-{me}-a1b2", "reused pid": f"glr-worker1-{os.getpid()}-1000-c3d4",
             "older glr": "glr-worker1-e5f6g7h8", "a file": f"glr-worker2-{os.getpid()}-1000-x"}
    for what, name in names.items():
        (tmp_path / name).touch() if what == "a file" else (tmp_path / name / "run").mkdir(parents=True)
    assert cluster_module.drop_orphaned_worker_runs(tmp_path) == [tmp_path / names["reused pid"]]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(n for w, n in names.items() if w != "reused pid")


def test_unreachable_peer_gives_up_naming_its_address(monkeypatch):
    ports = free_ports(2)
    env = worker_env(ports, 1, 1)
    env["GLR_CLUSTER_START_TIMEOUT"] = "1"  # the least it takes (whole seconds): nobody is there to join
    code = "from glr.training.cluster import *; make_strategy(cluster_from_env())"
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and time.monotonic() - started < 110
    assert f"could not reach 127.0.0.1:{ports[0]}" in done.stderr, done.stderr[-2000:]


def test_a_worker_whose_port_is_taken_says_so_not_that_its_peers_are_unreachable():
    """It said "could not reach <the other worker> within 120 s; is every worker started with the same TF_CONFIG?"."""
    import socket

    with socket.socket() as taken:  # another program listening on worker 0's port
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        ports = [port, free_ports(1)[0]]
        env = dict(worker_env(ports, 0, 1), GLR_CLUSTER_START_TIMEOUT="3")
        code = "from glr.training.cluster import *; make_strategy(cluster_from_env())"
        done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert f"worker 0 could not listen on its own address 127.0.0.1:{port}: the port is in use" in done.stderr, \
        done.stderr[-2000:]
    assert "could not reach" not in done.stderr


def test_free_ports_are_free_on_every_interface():
    import socket

    for port in free_ports(3):
        with socket.socket() as s:
            s.bind(("0.0.0.0", port))  # where TensorFlow's server listens


@pytest.mark.parametrize("text, problem", [
    ("{", "not a valid cluster description"),
    ('{"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 5}}', "is not in its cluster"),
    ('{"cluster": {"worker": ["a:1"]}, "task": {"type": "ps", "index": 0}}', "does not train"),
])
def test_bad_tf_config_is_named(text, problem):
    with pytest.raises(ClusterError, match=problem):
        cluster_from_env({"TF_CONFIG": text})


def test_tf_config_roles():
    assert cluster_from_env({}) is None
    assert cluster_from_env({"TF_CONFIG": '{"cluster": {"worker": ["a:1"]}, "task": {"index": 0}}'}) is None
    chief = cluster_from_env({"TF_CONFIG": '{"cluster": {"chief": ["c:1"], "worker": ["a:1"]}, '
                                           '"task": {"type": "worker", "index": 0}}'})
    assert chief.size == 2 and chief.index == 1 and not chief.is_chief and chief.peers() == ["c:1"]


def test_a_cluster_run_folder_is_made_by_the_chief_and_awaited_by_the_others(tmp_path, tiny_data, monkeypatch):
    monkeypatch.setattr(cluster_module, "START_TIMEOUT_SECONDS", 1)
    chief, other = Cluster(("a:1", "b:2"), 0), Cluster(("a:1", "b:2"), 1)
    path, config = tmp_path / "runs" / "gldv2-2x", tiny_config(tiny_data)
    with pytest.raises(ClusterError, match="did not create"):
        cluster_run(path, config, other)
    assert not path.exists()  # a worker never makes it
    run = cluster_run(path, config, chief)
    assert run.config()["train"]["input_size"] == 32 and run.status()["state"] == "queued"
    assert cluster_run(path, config, other).path == run.path
    with pytest.raises(ClusterError, match="runs/<run id>"):
        cluster_run(tmp_path / "elsewhere", config, chief)


def test_bad_worker_counts_are_refused(tmp_path, tiny_data):
    from glr.errors import GlrError
    from glr.training.workers import train_local

    run = new_run(tmp_path, tiny_config(tiny_data))
    for bad in (0, 17):
        with pytest.raises(GlrError, match="--workers must be between 1 and 16"):
            train_local(run, bad)


def test_two_workers_train_on_a_warm_cache_with_a_photo_that_does_not_decode(tmp_path, tiny_data, finished_run):
    """The session's run cached every tiny photo's features; a blank one is never cached, so one worker alone needed
    the backbone for its shard, and building it (a broadcast of the chief's weights) left the collectives unmatched:
    "Collective instance 100 expected type 0 ... but got type 1", the run failed at once (wonders7's second run)."""
    from PIL import Image

    data = tmp_path / "data"
    shutil.copytree(tiny_data, data)
    blank = image_id(3, 99)
    path = data / "train" / blank[0] / blank[1] / blank[2] / f"{blank}.jpg"
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (48, 48), (128, 128, 128)).save(path)
    with open(data / "train.csv", "a") as csv:
        csv.write(f"{blank},3\n")
    # Two epochs: the fault was at the feature stage, before any epoch (and the run's end is the same after 2 as 20).
    done = glr_train(data, tmp_path / "results", "--workers", "2", epochs=2)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    run = only_run(tmp_path / "results")
    assert run.status()["state"] == "finished"
    assert run.status()["features_computed"] <= 4  # the blank photo's views alone: the cache was warm for the 18 others
