"""The embedded demo: a dataset drawn on this computer, so a fresh checkout runs end to end.

`dataset` holds the class catalogue and writes the demo in GLDv2's layout; `landmarks`
draws the structures (`sketch` holds a landmark class and the canvas, `buildings` and
`monuments` one drawing function per structure family), `landmark_cache` draws a class's
landmark once for all its photos where they share it, and `scenes` composes a photo
around one. `distractors` gathers photos with no landmark (package sample images and
generated street scenes) for the "not a known landmark" verdict.
"""
