"""A stand-in for `python -m glr train` that follows the trainer's protocol in milliseconds.

Usage: fake_trainer.py --run-dir DIR [--resume]. It reads from the run's config:
  steps (int, default 5)  one history row per step, ~0.05 s each
  crash (bool)            raise at the second step -> status "failed" with a traceback
  hang (bool)             ignore the STOP flag (to test the SIGTERM/SIGKILL fallback)
  sigterm (bool, default true)  install the SIGTERM -> STOP handler; false: SIGTERM kills it
"""

import argparse
import os
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from glr.atomic import write_text  # noqa: E402
from glr.training.launch import training_lock  # noqa: E402
from glr.training.run import Run  # noqa: E402
from glr.training.trainer_signals import install_sigterm_handler  # noqa: E402

HEADER = "phase,epoch,loss,accuracy,val_loss,val_accuracy,val_top5,lr,seconds\n"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--run-dir", required=True)
    parser.add_argument("--resume", action="store_true")
    args = parser.parse_args()
    run = Run.open(args.run_dir)
    config = run.config()
    steps = int(config.get("steps", 5))
    with training_lock(run.results_dir, run.id):
        if config.get("sigterm", True):
            install_sigterm_handler(run)
        run.clear_stop_request()  # a flag left by an earlier stop; a newer one still counts
        # Resuming continues after the rows already in history.csv, as a checkpoint would.
        lines = run.history_path.read_text().splitlines(keepends=True) if args.resume and run.history_path.exists() else [HEADER]
        done = len(lines) - 1
        run.update_status(state="running", pid=os.getpid(), phase="head", epochs=steps, epoch=done, message="training")
        print(f"fake trainer pid {os.getpid()} starting at step {done} of {steps}", flush=True)
        try:
            for step in range(done, steps):
                if run.stop_requested() and not config.get("hang"):
                    run.update_status(state="stopped", message=f"stopped after {step} steps")
                    return 0
                if config.get("crash") and step == 1:
                    raise RuntimeError("fake crash")
                time.sleep(0.05)
                acc = (step + 1) / steps
                lines.append(f"head,{step + 1},{1 - acc:.3f},{acc:.3f},{1 - acc:.3f},{acc:.3f},{acc:.3f},0.001,0.05\n")
                write_text(run.history_path, "".join(lines))
                run.update_status(epoch=step + 1, step=step + 1, steps=steps)
            while config.get("hang"):  # never ends by itself; only a signal ends it
                time.sleep(0.05)
            run.update_status(state="finished", message="done")
        except Exception as exc:
            run.update_status(state="failed", message=str(exc), traceback=traceback.format_exc())
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
