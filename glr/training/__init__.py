"""Training: a configuration in, a finished run folder out.

`config` is the validated configuration, `model` the study's head and classifier. `runs`
owns the run folder: the only module that knows its file names, reads its config and
status, and launches, stops and resumes a training process. `trainer` trains the head on
cached features (phase 1) and optionally fine-tunes the backbone (phase 2).
"""
