"""The numeric engine: LAPACK through NumPy/SciPy, for every item of the course notes.

Decompositions (``svd``, ``eig``, ``eigh``, ``cholesky``), solves (``inv``,
``pinv``, ``lstsq``, ``left_inverse``, ``right_inverse``), measures (``det``,
``slogdet``, ``trace``, ``rank``, ``norm``, ``cond``, ``cosine``, ``distance``), structure
(``subspaces``, ``definiteness`` and the ``is_*`` predicates).
"""

from svdkit.linalg.cholesky import cholesky
from svdkit.linalg.definiteness import Definiteness, Kind, definiteness
from svdkit.linalg.eigen import Eig, Eigh, eig, eigh
from svdkit.linalg.inverses import Lstsq, inv, left_inverse, lstsq, pinv, right_inverse
from svdkit.linalg.measures import (
    SlogDet,
    cond,
    cosine,
    det,
    distance,
    norm,
    rank,
    slogdet,
    trace,
)
from svdkit.linalg.structure import (
    is_diagonal,
    is_diagonalizable,
    is_hermitian,
    is_normal,
    is_orthonormal,
    is_symmetric,
)
from svdkit.linalg.subspaces import Subspaces, subspaces
from svdkit.linalg.svd import SVD, SVDResiduals, svd

__all__ = [
    "SVD",
    "Definiteness",
    "Eig",
    "Eigh",
    "Kind",
    "Lstsq",
    "SVDResiduals",
    "SlogDet",
    "Subspaces",
    "cholesky",
    "cond",
    "cosine",
    "definiteness",
    "det",
    "distance",
    "eig",
    "eigh",
    "inv",
    "is_diagonal",
    "is_diagonalizable",
    "is_hermitian",
    "is_normal",
    "is_orthonormal",
    "is_symmetric",
    "left_inverse",
    "lstsq",
    "norm",
    "pinv",
    "rank",
    "right_inverse",
    "slogdet",
    "subspaces",
    "svd",
    "trace",
]
