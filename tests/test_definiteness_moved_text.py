"""A moved zero threshold is printed with the digits that tell it from the eigenvalue.

The threshold moves (by rounding) to just below, or onto, an ``|λ|``: printed to 3
digits, ``|λ| = 1.488e-15`` read as "<= 1.49e-15" and was counted positive all the same.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from test_definiteness_threshold_consistency import STRADDLING

import svdkit


@pytest.mark.parametrize("index", range(len(STRADDLING)))
def test_a_moved_threshold_is_printed_exactly(index):
    d = svdkit.definiteness(np.array(STRADDLING[index]))
    text = d.eigenvalues.explanation
    if "is moved" not in text:
        pytest.fail("the threshold of these matrices moves: the explanation must say so")
    (printed,) = re.findall(r"\(\|λ\| <= ([^)]+)\)", text)
    assert float(printed) == d.tol_used  # the threshold applied, to the last digit
    near = float(re.search(r"\|λ\| = ([0-9.e+-]+),", text).group(1))
    assert near in np.abs(d.eigenvalues.values)  # an eigenvalue, to the last digit
    # and the side it is on is the one counted
    counted_zero = near <= d.tol_used
    assert ("onto" in text) == counted_zero
    assert ("just below" in text) == (not counted_zero)
