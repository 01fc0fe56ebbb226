"""Review of the four subspaces, svd's full size, rank ties and the 3-D geometry picture."""

import numpy as np
import pytest
import scipy.linalg
from scipy.sparse.linalg import aslinearoperator

import svdkit
from svdkit.errors import ShapeError
from svdkit.inputs import DENSIFY_LIMIT
from svdkit.linalg.subspaces import subspaces_from_svd
from svdkit.plot import svd_geometry
from svdkit.plot._orthogonal import describe_orthogonal

RNG = np.random.default_rng(20261123)


def _check_subspaces(A, sub, rank):
    """Orthonormal bases of the right dimensions that annihilate / reproduce A."""
    A = np.asarray(A)
    m, n = A.shape
    assert sub.rank == rank
    assert sub.dimensions == {"column": rank, "null": n - rank, "row": rank, "left_null": m - rank}
    full_u = np.hstack([sub.column, sub.left_null])
    full_v = np.hstack([sub.row, sub.null])
    np.testing.assert_allclose(full_u.conj().T @ full_u, np.eye(m), atol=1e-13)
    np.testing.assert_allclose(full_v.conj().T @ full_v, np.eye(n), atol=1e-13)
    scale = np.linalg.norm(A, 2)
    assert np.linalg.norm(A @ sub.null) <= 1e-13 * scale
    assert np.linalg.norm(A.conj().T @ sub.left_null) <= 1e-13 * scale
    np.testing.assert_allclose(sub.column @ (sub.column.conj().T @ A), A, atol=1e-13 * scale)
    np.testing.assert_allclose(A @ sub.row @ sub.row.conj().T, A, atol=1e-13 * scale)
    # the same spaces as SciPy's
    for basis, ref in (
        (sub.null, scipy.linalg.null_space(A)),
        (sub.left_null, scipy.linalg.null_space(A.conj().T)),
    ):
        np.testing.assert_allclose(basis @ basis.conj().T, ref @ ref.conj().T, atol=1e-12)
    # the decomposition kept is a full SVD of A
    dec = sub.decomposition
    assert dec.U.shape == (m, m) and dec.Vh.shape == (n, n)
    np.testing.assert_allclose(dec.U @ dec.Sigma @ dec.Vh, A, atol=1e-13 * scale)


# ----------------------------------------------------------- 1. thin and truncated SVDs


@pytest.mark.parametrize(
    "A, rank",
    [
        ([[1.0, 2, 3], [4, 5, 6]], 2),  # wide: N(A) has dimension 1
        ([[1.0, 2], [2, 4], [3, 6]], 1),  # tall: N(Aᵀ) has dimension 2
        (RNG.standard_normal((6, 2)) @ RNG.standard_normal((2, 4)), 2),
        (RNG.standard_normal((7, 3)) + 1j * RNG.standard_normal((7, 3)), 3),
        (np.zeros((2, 3)), 0),
    ],
)
def test_subspaces_from_a_thin_svd_completes_the_null_spaces(A, rank):
    A = np.asarray(A)
    thin = svdkit.svd(A)
    assert thin.U.shape[1] == min(A.shape)  # (svd's default is thin)
    sub = subspaces_from_svd(thin)
    _check_subspaces(A, sub, rank)
    ref = svdkit.subspaces(A)
    for name in ("column", "null", "row", "left_null"):
        mine, theirs = getattr(sub, name), getattr(ref, name)
        np.testing.assert_allclose(mine @ mine.conj().T, theirs @ theirs.conj().T, atol=1e-12)


def test_subspaces_from_a_thin_svd_keeps_the_sign_rule_and_a_tol():
    A = np.array([[1.0, 2, 3], [4, 5, 6]])
    sub = subspaces_from_svd(svdkit.svd(A))
    np.testing.assert_allclose(sub.null[:, 0], [-0.408248, 0.816497, -0.408248], atol=1e-6)
    s = svdkit.svd(A).s
    low = subspaces_from_svd(svdkit.svd(A), tol=float(s[1]))  # σ₂ counts as zero
    assert low.dimensions == {"column": 1, "null": 2, "row": 1, "left_null": 1}
    # v₂ joins the null basis: what A leaves of it is σ₂ (the part the tol counts as zero)
    np.testing.assert_allclose(np.linalg.norm(A @ low.null, 2), s[1], rtol=1e-12)


@pytest.mark.parametrize("make", [lambda A: svdkit.svd(A, 1), lambda A: svdkit.svd(A).truncate(1)])
def test_subspaces_from_a_truncated_svd_is_refused(make):
    A = np.array([[1.0, 2, 3], [4, 5, 6], [7, 8, 10]])
    with pytest.raises(ShapeError, match=r"full=True"):
        subspaces_from_svd(make(A))


# ----------------------------------------------------------- 3. the full SVD's size


def test_full_svd_of_a_tall_matrix_past_the_cap_is_a_clear_error():
    m = int(np.sqrt(DENSIFY_LIMIT)) + 1
    while m * (m - 2) <= DENSIFY_LIMIT:  # the entries of U beyond the thin SVD's
        m += 1
    A = RNG.standard_normal((m, 2))
    with pytest.raises(ShapeError) as err:
        svdkit.subspaces(A)
    text = str(err.value)
    assert f"{m}×2" in text and f"{m * (m - 2):,}" in text and "svdkit.subspaces" in text
    assert "svdkit.svd(A)" in text and "null_space" in text
    with pytest.raises(ShapeError, match=rf"{m}×{m}"):
        svdkit.svd(A.T, full=True)
    with pytest.raises(ShapeError, match=r"svdkit\.svd"):
        subspaces_from_svd(svdkit.svd(A))  # completing the thin one would need it too
    thin = svdkit.svd(A)  # the thin one is fine
    assert thin.U.shape == (m, 2)


# ----------------------------------------------------------- 4. LinearOperator


def test_subspaces_of_a_linear_operator_names_subspaces_and_no_k():
    op = aslinearoperator(np.eye(3))
    with pytest.raises(ShapeError) as err:
        svdkit.subspaces(op)
    text = str(err.value)
    assert "svdkit.subspaces" in text and "pass k" not in text
    with pytest.raises(ShapeError, match="pass k"):  # svd itself has k
        svdkit.svd(op)


# ----------------------------------------------------------- 5. rank ties


@pytest.mark.parametrize("shape", [(5, 4), (4, 5), (6, 6)])
def test_rank_and_svd_rank_agree_when_tol_is_a_singular_value(shape):
    rng = np.random.default_rng(7)
    bad = []
    for _ in range(60):
        A = rng.standard_normal(shape)
        s_vec = svdkit.svd(A).s
        s_val = scipy.linalg.svdvals(A)
        for t in np.concatenate([s_vec, s_val]):
            t = float(t)
            ranks = (
                svdkit.rank(A, tol=t),
                svdkit.subspaces(A, tol=t).rank,
                svdkit.svd(A).rank(t),
                svdkit.svd(A, full=True).rank(t),
            )
            if len(set(ranks)) != 1:
                bad.append((t, ranks))
    assert not bad


def test_rank_agrees_at_the_default_rule_on_rank_deficient_and_scaled_matrices():
    rng = np.random.default_rng(3)
    for scale in (1.0, 2.0**-600, 2.0**600):
        for _ in range(30):
            A = (rng.standard_normal((6, 3)) @ rng.standard_normal((3, 5))) * scale
            assert svdkit.rank(A) == svdkit.svd(A).rank() == svdkit.subspaces(A).rank == 3
            t = float(svdkit.svd(A).s[2])
            assert svdkit.rank(A, tol=t) == svdkit.svd(A).rank(t) == 2


# ----------------------------------------------------------- 6. describe_orthogonal


@pytest.mark.parametrize(
    "Q", [-np.eye(2), np.array([[-1.0, 1e-17], [-1e-17, -1.0]]), np.array([[-1.0, 0], [0, -1]])]
)
def test_half_turn_in_the_plane_is_plus_180(Q):
    action = describe_orthogonal(Q)
    assert action.kind == "rotation" and action.angle == 180.0
    t = np.radians(action.angle)
    np.testing.assert_allclose([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]], Q, atol=1e-12)


def test_rotation_angles_stay_in_the_half_open_range():
    for deg in np.linspace(-179.5, 180, 73):
        t = np.radians(deg)
        Q = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
        angle = describe_orthogonal(Q).angle
        assert -180 < angle <= 180
        assert abs(((angle - deg) + 180) % 360 - 180) < 1e-9


# ----------------------------------------------------------- 7. SVD.S


def test_svd_result_has_numpy_2_names():
    A = np.array([[3.0, 0], [0, -2]])
    r = svdkit.svd(A)
    assert r.S is r.s
    ref = np.linalg.svd(A)
    np.testing.assert_allclose(r.S, ref.S)
    with pytest.raises(AttributeError):
        r.S = np.zeros(2)
    U, S, Vh = r
    np.testing.assert_allclose((U * S) @ Vh, A, atol=1e-15)


# ----------------------------------------------------------- 2. 3-D geometry, huge and tiny


def _sigma_u_panel(fig):
    ax = fig.axes[3]  # U·Σ·Vᵀ·S = A·S
    labels = {
        t.get_text(): np.array(t.get_position_3d(), dtype=float)
        for t in ax.texts
        if t.get_text().startswith("σ")
    }
    quivers = [
        c for c in ax.collections if type(c).__name__ == "Line3DCollection" and c.get_gid() is None
    ]
    return labels, quivers


@pytest.mark.parametrize("scale", [1e160, 1e200, 3e299, 1e-170, 1e-250, 1e-280])
def test_three_d_geometry_keeps_arrows_and_labels_at_any_scale(scale):
    import matplotlib.pyplot as plt

    A = np.diag([3.0, 2.0, 1.0])
    ref_fig = svd_geometry(A)
    ref_labels, ref_quivers = _sigma_u_panel(ref_fig)
    fig = svd_geometry(A * scale)  # (RuntimeWarnings from svdkit are errors)
    labels, quivers = _sigma_u_panel(fig)
    try:
        assert len(ref_labels) == 3 and len(quivers) == len(ref_quivers)
        assert set(labels) == set(ref_labels)
        for name, where in labels.items():
            assert np.all(np.isfinite(where))
            np.testing.assert_allclose(where / scale, ref_labels[name], rtol=1e-9, atol=1e-9)
        for mine, ref in zip(quivers, ref_quivers, strict=True):
            segs = np.asarray(mine._segments3d, dtype=float)
            ref_segs = np.asarray(ref._segments3d, dtype=float)
            assert np.all(np.isfinite(segs))
            np.testing.assert_allclose(segs / scale, ref_segs, rtol=1e-9, atol=1e-9)
    finally:
        plt.close(fig)
        plt.close(ref_fig)
