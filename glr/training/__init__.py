"""Training: a configuration in, a finished run folder out.

`config` is the validated configuration and `settings` what it implies (input size, feature
cache, fine-tuned or not). `run` owns the run folder: the only module that knows its files,
with `status` (the state a trainer and its watchers share, and the stop flag). `launch`
starts, stops, resumes and deletes trainings as processes of their own (one per results
folder, `processes` tells whether one is alive), and `run_table` lists a results folder's
runs. `trainer` trains the head on cached features (phase 1), optionally fine-tunes the
backbone (phase 2), reporting through `progress`; `model` is the study's head and classifier.
Both phases train in `loop` under the tf.distribute strategy that `cluster` makes from
`TF_CONFIG` (one process, or several workers of which only the chief writes the run folder);
`workers` starts N local workers for `--workers N`.
"""
