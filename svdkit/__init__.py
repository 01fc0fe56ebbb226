"""svdkit: the singular value decomposition and the matrix analysis around it.

Examples
--------
>>> import svdkit
>>> U, s, Vh = svdkit.svd("[[1, 2, 3], [4, 5, 6]]")
>>> [round(float(x) ** 2, 8) for x in s]
[90.40267253, 0.59732747]
"""

from svdkit.errors import *  # noqa: F403
from svdkit.errors import __all__ as _errors_all
from svdkit.inputs import as_matrix, as_vector, load
from svdkit.linalg import *  # noqa: F403
from svdkit.linalg import __all__ as _linalg_all

__version__ = "0.1.0"

__all__ = [*_errors_all, *_linalg_all, "__version__", "as_matrix", "as_vector", "load"]
