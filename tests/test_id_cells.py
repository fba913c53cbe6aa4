"""glr.data.id_cells: Excel's ="..." wrapper is taken off an id cell, and only that wrapper."""

import pandas as pd

from glr.data.id_cells import unwrap_excel


def test_only_a_whole_cell_in_excels_wrapper_is_unwrapped():
    cells = pd.Series(['="0123"', ' ="00ab" ', '="a"b"', '0123', '"0123"', '=0123', '="'], dtype="string")
    values, wrapped = unwrap_excel(cells)
    assert values.tolist() == ["0123", "00ab", 'a"b', "0123", '"0123"', "=0123", '="']
    assert wrapped.tolist() == [True, True, True, False, False, False, False]
