"""TensorFlow's start-up notices kept out of glr's stderr (glr.tf_quiet); anything else written there still shows."""

import os
import subprocess
import sys
from pathlib import Path

import glr
from glr import tf_quiet

ROOT = Path(__file__).resolve().parents[1]
# What `import tensorflow` and its first device listing wrote here (TensorFlow 2.21, no GPU), and two lines that matter.
STARTUP = """WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
I0000 00:00:1796519904.001400   16291 port.cc:153] oneDNN custom operations are on. You may see slightly different numerical results due to floating-point round-off errors from different computation orders. To turn them off, set the environment variable `TF_ENABLE_ONEDNN_OPTS=0`.
I0000 00:00:1796519904.001804   16291 cudart_stub.cc:31] Could not find cuda drivers on your machine, GPU will not be used.
W0000 00:00:1796519904.100000   16291 some_op.cc:12] a real warning about the model
I0000 00:00:1796519904.128561   16291 cpu_feature_guard.cc:227] This TensorFlow binary is optimized to use available CPU instructions in performance-critical operations.
To enable the following instructions: AVX2 AVX512F AVX512_VNNI AVX512_BF16 FMA, in other operations, rebuild TensorFlow with the appropriate compiler flags.
E0000 00:00:1796519915.835161   16291 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)
/x/site-packages/keras/src/a.py:3: UserWarning: something the user should see
"""


def test_the_start_up_notices_go_and_every_other_line_stays():
    assert tf_quiet.without_notices(STARTUP) == (
        "W0000 00:00:1796519904.100000   16291 some_op.cc:12] a real warning about the model\n"
        "/x/site-packages/keras/src/a.py:3: UserWarning: something the user should see\n")


def test_lines_written_to_the_file_descriptor_in_the_block_come_back_filtered(capfd):
    with tf_quiet.stderr_filtered():
        os.write(2, STARTUP.encode())  # as C++ code writes: under Python's sys.stderr
        print("from python", file=sys.stderr)
    err = capfd.readouterr().err  # (pytest's own sys.stderr writes past the descriptor: its line may come first)
    assert err.replace("from python\n", "") == (
        "W0000 00:00:1796519904.100000   16291 some_op.cc:12] a real warning about the model\n"
        "/x/site-packages/keras/src/a.py:3: UserWarning: something the user should see\n")
    assert "from python\n" in err


def test_a_users_own_log_level_0_or_1_keeps_every_line(monkeypatch):
    assert tf_quiet.wanted("2") and tf_quiet.wanted("3") and tf_quiet.wanted("")
    assert not tf_quiet.wanted("0") and not tf_quiet.wanted(" 1 ")
    monkeypatch.setattr(glr, "USER_TF_LOG_LEVEL", "0")
    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))
    monkeypatch.delitem(sys.modules, "tensorflow", raising=False)
    tf_quiet.install()
    assert not any(isinstance(f, tf_quiet._QuietTensorFlow) for f in sys.meta_path)


def test_a_real_tensorflow_start_says_none_of_its_notices_and_still_works():
    # Seven lines above every command's output and in every train.log: TF_CPP_MIN_LOG_LEVEL no longer hides them.
    code = ("from glr import tf_quiet; tf_quiet.install(); import tensorflow as tf, sys; "
            "print(float(tf.reduce_sum(tf.ones(3)))); print('after', file=sys.stderr)")
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stdout == "3.0\n", done.stderr[-2000:]
    assert done.stderr == "after\n", done.stderr
