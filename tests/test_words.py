"""glr.words: the counts, verbs and examples of glr's messages, from a module that imports nothing."""

import subprocess
import sys

from glr.data import layouts
from glr.words import examples, have, plural


def test_counts_take_their_nouns_plural_and_the_verb_agrees():
    assert [plural(n, "row") for n in (0, 1, 2, 12345)] == ["0 rows", "1 row", "2 rows", "12,345 rows"]
    assert plural(2, "class") == "2 classes" and plural(1, "class") == "1 class"
    assert (have(1), have(0), have(3)) == ("has", "have", "have")


def test_examples_are_the_first_few_different_values_and_stop_early():
    def endless():
        yield from ("a", "a", 7, "b", "c")
        raise AssertionError("read past the third different value")

    assert examples(endless()) == "'a', 7, 'b'"
    assert examples([]) == ""


def test_the_dataset_readers_still_give_the_same_helpers():
    # Many modules (and predict.py's copy of `examples` and `plural`) take them from glr.data.layouts.
    assert (layouts.plural, layouts.have, layouts.examples) == (plural, have, examples)
    code = "import sys, glr.words; print([m for m in sys.modules if m.startswith(('glr.', 'pandas', 'numpy'))])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['glr.words']"
