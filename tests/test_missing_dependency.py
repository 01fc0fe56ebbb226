"""An optional package that is not installed: one svdkit error that names the extra
and is also an ``ImportError`` (plot, the CLI's ``--figure``, the sklearn estimator)."""

import sys

import pytest

from svdkit.errors import MissingDependencyError, SvdkitError


@pytest.fixture
def no_matplotlib(monkeypatch):
    for name in list(sys.modules):
        if name == "matplotlib" or name.startswith("matplotlib."):
            monkeypatch.setitem(sys.modules, name, None)  # importing it fails
    monkeypatch.setitem(sys.modules, "matplotlib", None)


def test_error_is_both_an_svdkit_error_and_an_import_error():
    err = MissingDependencyError("x needs y: pip install 'svdkit[y]'")
    assert isinstance(err, SvdkitError)
    assert isinstance(err, ImportError)
    assert isinstance(err, ValueError)  # as every svdkit error


def test_plot_without_matplotlib_names_the_extra(no_matplotlib):
    from svdkit.plot._common import new_figure

    with pytest.raises(MissingDependencyError, match=r"pip install 'svdkit\[plot\]'"):
        new_figure(4, 3)


def test_cli_figure_without_matplotlib_names_the_extra(no_matplotlib, tmp_path):
    from svdkit.cli.lora_command import _check_figure_path

    with pytest.raises(MissingDependencyError, match=r"svdkit\[plot\]"):
        _check_figure_path(tmp_path / "spectra.png")
