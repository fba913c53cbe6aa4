"""What flip averaging and regions cost the index step, and what they change: a demo training, then rebuilds.

A default training (frozen backbone, the feature cache as the machine has it) ends with the
evaluation and the index, both flip-averaged now (glr.retrieval.flip). The mirror views of the
training and validation photos are computed with their other views, in the features stage (the
mirror is a training view); those of the distractors in the evaluation. All are kept in the
feature cache. Then
the same run's index is rebuilt side by side, one view ("single", what runs did before) and
flip-averaged again (its mirror views now cached), and by regions (glr.retrieval.regional, a
new run's default: the windows the training cached): wall and CPU seconds of each. The run's
evaluation records the head's top-1 on the single views beside the flip-averaged one.

    nice -n 10 .venv/bin/python benchmarks/bench_flip_index.py [DATA] [--tiny]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

TINY_TRAIN = dict(input_size=32, views=2, epochs=2, batch_size=4, hidden=32, learning_rate=1e-2, patience=100)


def timed(fn, *args, **kwargs):
    """(result, wall seconds, CPU seconds of this process) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - wall, time.process_time() - cpu


def main(argv=None) -> dict:
    """Run the benchmark; returns its figures."""
    p = common.parser(__doc__.splitlines()[0])
    p.add_argument("data", nargs="?", help="a dataset folder (default: the embedded demo)")
    args = p.parse_args(argv)
    from glr.evaluation import finish
    from glr.training.config import TrainConfig
    from glr.training.launch import new_run
    from glr.training.trainer import train_run

    common.header("flip averaging: the index step's cost and the head's top-1")
    stages, wrappers = {}, {}
    for name in ("evaluate_run", "index_run"):
        original = getattr(finish, name)

        def wrapper(*a, _original=original, _name=name, **kw):
            result, wall, cpu = timed(_original, *a, **kw)
            stages[_name] = (wall, cpu)
            return result

        wrappers[name] = wrapper
    # Timed only while this benchmark runs: in a process that runs more (the tiny mode's tests), the others get
    # glr's own functions back.
    with tempfile.TemporaryDirectory(prefix="glr-bench-flip-") as tmp, mock.patch.multiple(finish, **wrappers):
        data = common.tiny_dataset(Path(tmp) / "tiny", classes=4, per_class=6) if args.tiny else \
            Path(args.data) if args.data else common.demo_root()
        config = TrainConfig.from_dict({"data": str(data), "fine_tune": False, **(TINY_TRAIN if args.tiny else {})})
        run = new_run(Path(tmp) / "results", config)
        _, train_wall, train_cpu = timed(train_run, run)
        trained = run.retrieval()
        kind = trained["embedding"]
        rows = {f"training: evaluate ({kind})": stages["evaluate_run"],
                f"training: index ({kind}; from the features stage)": stages["index_run"]}
        single, wall, cpu = timed(finish.rebuild_index, run, embedding="single")
        rows["rebuild: index, single view"] = (wall, cpu)
        flipped, wall, cpu = timed(finish.rebuild_index, run, embedding="flip")
        rows["rebuild: index, flip (mirror views cached)"] = (wall, cpu)
        regional, wall, cpu = timed(finish.rebuild_index, run, embedding="rmac")
        rows["rebuild: index, rmac (windows cached)"] = (wall, cpu)
    print(f"data: {'tiny' if args.tiny else data}; training {train_wall:.0f} s wall, {train_cpu:.0f} CPU-s in all")
    for name, (wall, cpu) in rows.items():
        print(f"{name:52s} {wall:7.1f} s wall {cpu:7.1f} CPU-s")
    head_flip, head_single = trained["methods"]["head"]["top1"], trained.get("head_top1_single_view", float("nan"))
    result = {"rows": rows, "head_top1_flip": head_flip, "head_top1_single": head_single,
              "distractors_flagged": {k: r["unknown"]["distractors_flagged"] for k, r in
                                      (("single", single), ("flip", flipped), ("rmac", regional))},
              "knn_top1": {k: r["methods"]["knn"]["top1"] for k, r in
                           (("single", single), ("flip", flipped), ("rmac", regional))}}
    print(f"head top-1 on the validation photos: single view {head_single:.3f}, flip-averaged {head_flip:.3f}; "
          f"kNN top-1 {result['knn_top1']['single']:.3f} -> {result['knn_top1']['flip']:.3f} -> "
          f"{result['knn_top1']['rmac']:.3f} (rmac); distractors called unknown "
          f"{result['distractors_flagged']['single']:.3f} -> {result['distractors_flagged']['flip']:.3f} -> "
          f"{result['distractors_flagged']['rmac']:.3f}")
    cold = rows[f"training: index ({kind}; from the features stage)"][1]
    base = rows["rebuild: index, single view"][1]
    warm = rows["rebuild: index, flip (mirror views cached)"][1]
    regions = rows["rebuild: index, rmac (windows cached)"][1]
    common.summary(f"{kind} index in the training: {cold / base:.1f}x the single-view index's CPU ({cold:.0f} vs "
                   f"{base:.0f} CPU-s); in a rebuild flip {warm / base:.2f}x, rmac {regions / base:.2f}x")
    return result


if __name__ == "__main__":
    main()
