"""glr.backbones.finite: which features float16 holds, and which are no numbers."""

import numpy as np
import pytest

from glr.backbones.finite import HALF_MAX, HalfOverflow, all_finite, check_half, fits_half, half_or_float32


@pytest.mark.parametrize("value", [HALF_MAX, -HALF_MAX, 0.0, 1e-40])
def test_values_float16_holds_fit(value):
    vector = np.zeros((28, 16), np.float32)
    vector[3, 5] = value
    assert fits_half(vector)
    assert half_or_float32(vector) == np.float16


@pytest.mark.parametrize("value", [70000.0, -70000.0, np.inf, -np.inf, np.nan])
def test_a_value_float16_would_turn_into_inf_or_nan_does_not_fit_whatever_its_sign(value):
    # Checked by the largest and the smallest value (no temporary |x|): the negative side must count as much.
    vector = np.ones((28, 16), np.float32)
    vector[27, 15] = value
    assert not fits_half(vector)
    assert half_or_float32(vector) == np.float32


def test_float16_and_empty_tables_always_fit():
    assert fits_half(np.full(4, 60000, np.float16))
    assert fits_half(np.zeros((0, 8), np.float32))


def test_check_half_names_the_largest_value_of_either_sign():
    rows = np.zeros((3, 2, 4), np.float32)
    rows[1, 1, 2] = -2e5
    with pytest.raises(HalfOverflow, match="2e\\+05"):
        check_half(rows)
    check_half(rows / 10)


def test_all_finite_reads_float16_by_its_exponent_bits():
    table = np.ones((2, 3), np.float16)
    assert all_finite(table)
    table[1, 2] = np.inf
    assert not all_finite(table)
    assert not all_finite(np.array([1.0, np.nan], np.float32))
