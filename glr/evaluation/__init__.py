"""Evaluation: how good a run is, in numbers and pictures.

`metrics` computes top-k accuracy, GAP, the per-class report and the confusion matrix, which
`confusion` keeps sparse (81,000 classes are 52 GB dense) and reads back, an older run's dense table too;
`plots` draws them with plotly; `report` writes a run's static report. `finish` is the last
step of a training (evaluate, index, report), also run on its own for an older run.
`compare` puts several runs side by side, and `probe` is the linear-probe baseline a
training must beat.
"""
