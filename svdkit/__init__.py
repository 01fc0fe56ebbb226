"""svdkit: the singular value decomposition and the matrix analysis around it."""

from svdkit.errors import *  # noqa: F403
from svdkit.errors import __all__ as _errors_all
from svdkit.inputs import as_matrix, as_vector, load

__version__ = "0.1.0"

__all__ = [*_errors_all, "__version__", "as_matrix", "as_vector", "load"]
