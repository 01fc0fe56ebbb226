"""Figures (matplotlib): the unit circle to the ellipse, quadratic forms, singular value spectra.

The course notes leave two figures empty ("Caption"); these draw them, and more:

* :func:`svd_geometry`: Figure 1, the unit circle (sphere) mapped step by step
  through ``Vᵀ``, ``Σ`` and ``U`` to the ellipse ``A·S`` with semi-axes ``σᵢuᵢ``;
* :func:`quadratic_form`: Figure 2, the surface ``z = xᵀAx`` of a 2×2
  symmetric matrix and its level curves, titled with its definiteness;
  :func:`quadratic_form_gallery` sets the canonical kinds side by side;
* :func:`spectrum`: the singular values and their cumulative energy, with the
  smallest ranks that keep 90 %, 95 % and 99 % of it;
* :func:`save_figures`: every figure that applies to a matrix, as PNG and SVG.

Every function returns a :class:`matplotlib.figure.Figure` bound to an Agg
canvas: nothing is shown and pyplot's global state is never touched; save it
with ``fig.savefig(path)``. Every word comes from the catalogues
the message catalogues ``svdkit/explain/locales/{en,fr}.json`` (``lang="en"`` or ``"fr"``).
matplotlib is imported only when a figure is drawn (``pip install 'svdkit[plot]'``).

Examples
--------
>>> from svdkit.plot import spectrum
>>> fig = spectrum([[1, 2, 3], [4, 5, 6]])
>>> fig.axes[0].get_title()
'Singular value spectrum'
"""

from svdkit.plot._common import LANGUAGES, FigureRangeError
from svdkit.plot.geometry import svd_geometry
from svdkit.plot.quadratic import quadratic_form, quadratic_form_gallery
from svdkit.plot.save import (
    FigureRemovedWarning,
    FigureSkippedWarning,
    SavedFigures,
    StaleFigureWarning,
    save_figures,
)
from svdkit.plot.spectrum import spectrum

__all__ = [
    "LANGUAGES",
    "FigureRangeError",
    "FigureRemovedWarning",
    "FigureSkippedWarning",
    "SavedFigures",
    "StaleFigureWarning",
    "quadratic_form",
    "quadratic_form_gallery",
    "save_figures",
    "spectrum",
    "svd_geometry",
]
