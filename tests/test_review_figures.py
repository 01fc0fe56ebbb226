"""Review of the figures (3): overflow, truncated spectra, tol and rounding zeros drawn as
the words say, scales far from 1, messages, formats, complex matrices.

The figures are read back from their matplotlib artists (ids ``svdkit:*``)."""

import warnings

import numpy as np
import pytest
from plot_support import EN, FR, panel

import svdkit
from svdkit.errors import StructureError, SvdkitError
from svdkit.lowrank import truncated_svd
from svdkit.plot import FigureRangeError, quadratic_form, save_figures, spectrum, svd_geometry
from svdkit.plot.save import FigureSkippedWarning
from tests.cli_support import run_svdkit


def info_of(fig):
    return next(x for x in fig.axes[0].texts if x.get_gid() == "svdkit:info").get_text()


def gid_lines(ax, gid):
    return [line for line in ax.get_lines() if line.get_gid() == gid]


def all_text(fig):
    texts = list(fig.texts)
    for ax in fig.axes:
        texts += ax.texts
        texts += [c for c in ax.get_children() if hasattr(c, "get_text")]
    return " ".join(x.get_text() for x in texts).replace("\u00a0", " ")


def image_radii(ax):
    (img,) = gid_lines(ax, "svdkit:image")
    return np.hypot(*img.get_xydata().T)


# ----------------------------------------------------------------------------- 1. overflow

BIG = [[1e308, 1e308], [1e308, 1e308]]  # finite entries; σ₁ = 2e308 overflows


def test_spectrum_of_an_overflowing_sigma_is_a_figure_range_error():
    assert np.isinf(svdkit.svd(BIG).s[0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning on the way
        with pytest.raises(FigureRangeError, match="largest float"):
            spectrum(BIG)
        with pytest.raises(FigureRangeError):
            spectrum(svdkit.svd(BIG))


def test_save_figures_skips_the_overflowing_spectrum_with_a_note(tmp_path):
    with pytest.warns(FigureSkippedWarning) as record:
        written = save_figures(BIG, tmp_path / "f")
    assert written == []
    assert any("spectrum skipped" in str(w.message) for w in record)


def test_cli_explain_figures_overflow_is_a_note_not_a_traceback(capsys, monkeypatch, tmp_path):
    src = tmp_path / "big.txt"
    src.write_text("1e308 1e308\n1e308 1e308\n")
    run = run_svdkit(capsys, monkeypatch)
    code, _, err = run("explain", src, "--figures", tmp_path / "f", "-o", tmp_path / "r.md")
    assert code == 0, err
    assert "Traceback" not in err and "ValueError" not in err
    assert "note: spectrum skipped" in " ".join(err.split()) and "save_figures" not in err
    assert "no figure file written" in err
    assert (tmp_path / "r.md").exists()


# ----------------------------------------------------------------------------- 2. truncated


def _energy(fig):
    (curve,) = gid_lines(fig.axes[1], "svdkit:energy")
    return curve.get_ydata()


@pytest.mark.parametrize("how", ["lowrank", "truncate"])
def test_spectrum_of_a_truncated_svd_shares_the_whole_frobenius_norm(how):
    A = np.diag(np.arange(20, 0, -1.0))
    r = truncated_svd(A, k=3) if how == "lowrank" else svdkit.svd(A).truncate(3)
    fig = spectrum(r)
    fro2 = float(np.sum(A**2))  # 2870
    np.testing.assert_allclose(_energy(fig), np.cumsum(r.s**2) / fro2, rtol=1e-12)
    info = info_of(fig)
    assert "53.57" in info and "32.94" not in info  # ‖A‖_F of A, not of the 3 values
    assert "rank 3" not in info and "3 leading singular values of a 20×20" in info
    assert "37.8%" in info  # what the 3 values hold
    assert "k = more than 3, more than 3, more than 3" in info
    # no target marker is claimed reached; the whole energy (100 %) is drawn as a line
    reach = [ln for ln in fig.axes[1].get_lines() if (ln.get_gid() or "").startswith("svdkit:re")]
    assert not reach
    (whole,) = gid_lines(fig.axes[1], "svdkit:whole-energy")
    assert list(whole.get_ydata()) == [1.0, 1.0]


def test_spectrum_of_a_truncated_svd_marks_targets_it_reaches():
    A = np.diag([10.0, 3.0, 1.0, 1.0])  # ‖A‖_F² = 111
    r = svdkit.svd(A).truncate(2)
    fig = spectrum(r, lang="fr")
    energy = _energy(fig)
    np.testing.assert_allclose(energy, np.cumsum(r.s**2) / np.sum(A**2), rtol=1e-12)
    assert energy[-1] < 1.0
    # 90 % at k = 1 (100/111), 95 % at k = 2 (109/111); 99 % needs k = 3 (not computed)
    reach = {ln.get_gid(): ln.get_xdata()[0] for ln in fig.axes[1].get_lines()
             if (ln.get_gid() or "").startswith("svdkit:reach")}
    assert reach == {"svdkit:reach-90": 1, "svdkit:reach-95": 2}
    info = info_of(fig)
    assert "les 2 plus grandes valeurs singulières" in info and "k = 1, 2, plus de 2" in info


def test_spectrum_of_a_truncated_svd_without_its_matrix_is_refused():
    r = svdkit.svd(np.diag([3.0, 2.0, 1.0])).truncate(2)
    from dataclasses import replace

    with pytest.raises(SvdkitError, match="unknown"):
        spectrum(replace(r, matrix=None))


def test_spectrum_of_a_whole_svd_is_unchanged():
    fig = spectrum(svdkit.svd([[3.0, 0], [0, 4]]))
    assert "of rank 2" in info_of(fig) and _energy(fig)[-1] == 1.0


# ----------------------------------------------------------------------------- 3. tol


def _mesh_z(fig):
    ax3 = panel(fig, "svdkit:quadratic:surface")
    lines = [ln for ln in ax3.get_lines() if ln.get_gid() == "svdkit:mesh"]
    return np.concatenate([ln.get_data_3d()[2] for ln in lines])


def test_quadratic_form_with_tol_draws_the_valley_it_names():
    fig = quadratic_form([[1, 0], [0, -0.3]], tol=0.5)
    verdict = next(x for x in fig.texts if x.get_gid() == "svdkit:verdict").get_text()
    assert "positive semidefinite" in verdict and "λ₁ = 0, λ₂ = 1" in verdict
    assert "tol = 0.5" in verdict
    z = _mesh_z(fig)
    assert z.min() >= -1e-15  # no saddle under "q(x) ≥ 0"
    # the zero level is drawn where the drawn form vanishes: along x₂ (q = x₁²)
    ax2 = panel(fig, "svdkit:quadratic:contours")
    (zero,) = gid_lines(ax2, "svdkit:zero-level")
    x, y = zero.get_data()
    np.testing.assert_allclose(x, 0.0, atol=1e-15)
    assert np.ptp(y) == pytest.approx(2.0)
    # without tol: the saddle, the raw eigenvalue
    plain = quadratic_form([[1, 0], [0, -0.3]])
    assert _mesh_z(plain).min() == pytest.approx(-0.3)


def test_svd_geometry_with_tol_draws_the_segment_it_names():
    fig = svd_geometry([[1, 0], [0, 0.3]], tol=0.5)
    AS = panel(fig, "svdkit:panel:AS")
    radii = image_radii(AS)
    assert radii.max() == pytest.approx(1.0) and radii.min() < 1e-12  # a segment
    assert "segment" in AS.get_title()
    text = all_text(fig)
    assert "σ₂ = 0.300" not in text and "σ₂ = 0" in text
    assert "σᵢ ≤ tol = 0.5 counted as 0" in text
    # without tol: the ellipse of semi-axes 1 and 0.3
    radii = image_radii(panel(svd_geometry([[1, 0], [0, 0.3]]), "svdkit:panel:AS"))
    assert radii.min() == pytest.approx(0.3)


# ----------------------------------------------------------------------------- 4. rounding zeros


def test_rounding_noise_sigma_is_written_as_zero():
    fig = svd_geometry([[1, 2], [2, 4]])
    assert svdkit.svd([[1, 2], [2, 4]]).s[1] > 0  # rounding noise, counted as 0 by the rank
    text = all_text(fig)
    assert "e−16" not in text and "e−17" not in text
    assert "σ₁ = 5, σ₂ = 0" in text
    assert "counted as 0" not in text  # (said only for a tol given)
    radii = image_radii(panel(fig, "svdkit:panel:AS"))
    assert radii.min() < 1e-14 * 5 and radii.max() == pytest.approx(5.0)


@pytest.mark.parametrize(
    ("A", "expected"),
    [([[2, 6], [6, 18]], "λ₁ = 0, λ₂ = 20"), ([[0.7, 0.1], [0.1, 1 / 70]], "λ₁ = 0, λ₂ = 0.714")],
)
def test_rounding_noise_eigenvalue_is_written_as_zero(A, expected):
    fig = quadratic_form(A)
    verdict = next(x for x in fig.texts if x.get_gid() == "svdkit:verdict").get_text()
    assert "semidefinite" in verdict and expected in verdict
    assert "tol" not in verdict
    # the surface drawn is the form of A to rounding (its noise eigenvalue set to 0)
    fig_z = _mesh_z(fig)
    u = np.linspace(-1, 1, 81)[::10]
    a = np.asarray(A, dtype=float)
    assert fig_z.min() >= -1e-14 * np.abs(a).max()
    assert np.abs(fig_z).max() == pytest.approx(
        max(abs(a[0, 0] * x * x + 2 * a[0, 1] * x * y + a[1, 1] * y * y) for x in u for y in u)
    )


# ----------------------------------------------------------------------------- 5. scales


def _fill(ax):
    (img,) = [ln for ln in ax.get_lines() if ln.get_gid() in ("svdkit:image", "svdkit:boundary")]
    return np.hypot(*img.get_xydata().T).max() / ax.get_xlim()[1]


@pytest.mark.parametrize(
    "A",
    [
        [[0.001, 0.002], [0.003, 0.004]],
        [[0.001, 0.002, 0.003], [0.004, 0.005, 0.006]],
        [[30, 40], [-40, 30]],
        [[1e-6, 0], [0, 0]],
    ],
)
def test_circle_and_ellipse_both_fill_their_panels(A):
    fig = svd_geometry(A)
    S, AS = panel(fig, "svdkit:panel:S"), panel(fig, "svdkit:panel:AS")
    if S.name != "3d":
        assert _fill(S) > 0.8
    assert _fill(AS) > 0.8
    for ax in fig.axes[:4]:
        if ax.name != "3d":
            assert ax.get_aspect() == 1.0
            assert ax.get_xlim() == ax.get_ylim()
    assert panel(fig, "svdkit:panel:S").get_xlim() == panel(fig, "svdkit:panel:VtS").get_xlim()
    assert AS.get_xlim() == panel(fig, "svdkit:panel:SVtS").get_xlim()
    notes = [x.get_text() for x in AS.texts if x.get_gid() == "svdkit:own-scale"]
    assert len(notes) == 1 and "own scale" in notes[0]


def test_square_matrix_with_sigma_near_one_keeps_shared_limits_and_no_note():
    fig = svd_geometry([[2, 1], [1, 3]])
    assert len({ax.get_xlim() for ax in fig.axes[:4]}) == 1
    assert not [x for ax in fig.axes for x in ax.texts if x.get_gid() == "svdkit:own-scale"]


# ----------------------------------------------------------------------------- 6. message


@pytest.mark.parametrize("A", [[[1, 2], [2 + 1e-14, 1]], [[1, 0.1], [0.1000001, 1]]])
def test_not_symmetric_message_names_two_different_entries(A):
    with pytest.raises(StructureError) as err:
        quadratic_form(A)
    message = str(err.value)
    first = message.split("A[0,1] = ")[1].split(" but")[0]
    second = message.split("A[1,0] = ")[1].split(" ")[0].rstrip(".")
    assert first != second
    assert float(first) == A[0][1] and float(second) == A[1][0]


# ----------------------------------------------------------------------------- 7. plural


def test_one_singular_value_is_singular():
    assert info_of(spectrum([4.0])).startswith("1 singular value;")
    assert info_of(spectrum([4.0], lang="fr")).startswith("1 valeur singulière ;")
    assert info_of(spectrum([4.0, 1.0])).startswith("2 singular values;")


# ----------------------------------------------------------------------------- 8. labels inside


@pytest.mark.parametrize("lang", ["en", "fr"])
@pytest.mark.parametrize(
    "A",
    [
        [[123456.789, -98765.4321], [0.000123, -7.5e-9]],
        [[7.5, -6.25], [0.5, -0.125]],  # shared limits, the widest ticks they allow
    ],
)
def test_axis_labels_lie_inside_the_figure(A, lang):
    fig = svd_geometry(A, lang=lang)
    renderer = fig.canvas.get_renderer()
    fig.canvas.draw()
    width = fig.bbox.width
    for ax in fig.axes[:4]:
        box = ax.get_tightbbox(renderer)
        assert box.x0 >= 0 and box.x1 <= width
        for label in (ax.xaxis.label, ax.yaxis.label):
            if label.get_text():
                extent = label.get_window_extent(renderer)
                assert extent.x0 >= 0


# ----------------------------------------------------------------------------- 9. formats


def test_formats_are_deduplicated_after_normalisation(tmp_path):
    written = save_figures([[2, 1], [1, 3]], tmp_path, formats=["png", "PNG", ".png", "svg"])
    assert [p.name for p in written] == [
        "svd_geometry.png", "svd_geometry.svg",
        "quadratic_form.png", "quadratic_form.svg",
        "spectrum.png", "spectrum.svg",
    ]


# ----------------------------------------------------------------------------- 10. complex


def test_save_figures_says_why_a_complex_matrix_gets_only_the_spectrum(tmp_path):
    with pytest.warns(FigureSkippedWarning) as record:
        written = save_figures([[2, 1j], [-1j, 2]], tmp_path, formats="svg")
    assert [p.name for p in written] == ["spectrum.svg"]
    messages = [str(w.message) for w in record]
    assert messages == [EN["plot.skipped.complex.svd_geometry"],
                        EN["plot.skipped.complex.quadratic_form"]]
    # a complex non-Hermitian 2×3: only the geometry would have applied
    with pytest.warns(FigureSkippedWarning) as record:
        save_figures([[1j, 0, 1], [0, 1, 0]], tmp_path / "b", formats="svg", lang="fr")
    assert [str(w.message) for w in record] == [FR["plot.skipped.complex.svd_geometry"]]


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_cli_explain_figures_complex_note(capsys, monkeypatch, tmp_path, lang):
    run = run_svdkit(capsys, monkeypatch)
    code, _, err = run(
        "explain", "[[2, 1j], [-1j, 2]]", "--figures", tmp_path / "f", "--lang", lang,
        "-o", tmp_path / "r.md",
    )
    assert code == 0, err
    flat = " ".join(err.split())
    cat = EN if lang == "en" else FR
    for name in ("svd_geometry", "quadratic_form"):
        assert " ".join(cat[f"plot.skipped.complex.{name}"].split()) in flat
    assert "spectrum.png, spectrum.svg" in flat
