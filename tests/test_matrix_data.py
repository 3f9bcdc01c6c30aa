import numpy as np
import pytest

from implicit_bias import matrix_data as md


def test_completion_validation_messages():
    with pytest.raises(ValueError, match=r"out of range for a 3 x 2 matrix"):
        md.MatrixDataset(np.ones(2), entries=[[0, 0], [3, 1]], shape=(3, 2))
    with pytest.raises(ValueError, match="observed twice with different values"):
        md.MatrixDataset(np.array([1.0, 2.0]), entries=[[1, 1], [1, 1]], shape=(3, 2))
    with pytest.raises(ValueError, match="integer indices"):
        md.MatrixDataset(np.ones(1), entries=[[0.5, 1]], shape=(3, 2))
    with pytest.raises(ValueError, match=r"entries must be 2-D \(N, 2\)"):
        md.MatrixDataset(np.ones(1), entries=[[0, 1, 2]], shape=(3, 2))
    with pytest.raises(ValueError, match="shape must be two positive integers"):
        md.MatrixDataset(np.ones(1), entries=[[0, 1]], shape=(3,))
    with pytest.raises(ValueError, match="either entries"):
        md.MatrixDataset(np.ones(1))
    with pytest.raises(ValueError, match="2 rows but y has 1"):
        md.MatrixDataset(np.ones(1), entries=[[0, 1], [1, 1]], shape=(2, 2))


def test_identical_duplicates_are_kept_once():
    d = md.MatrixDataset(np.array([1.0, 2.0, 1.0]), entries=[[0, 0], [1, 1], [0, 0]], shape=(2, 2))
    assert d.n == 2
    np.testing.assert_array_equal(d.entries, [[0, 0], [1, 1]])


def test_sensing_validation_messages():
    with pytest.raises(ValueError, match=r"A must be 3-D \(N, m, n\)"):
        md.MatrixDataset(np.ones(2), A=np.ones((2, 4)))
    with pytest.raises(ValueError, match="A has 2 matrices but y has 3"):
        md.MatrixDataset(np.ones(3), A=np.ones((2, 2, 2)))
    with pytest.raises(ValueError, match="does not match the sensing matrices"):
        md.MatrixDataset(np.ones(2), A=np.ones((2, 2, 3)), shape=(3, 2))
    with pytest.raises(ValueError, match="NaN or Inf"):
        md.MatrixDataset(np.array([1.0, np.nan]), A=np.ones((2, 2, 2)))


def test_dataset_view_for_train():
    d = md.matrix_completion((5, 4), rank=2, n_obs=7, seed=1)
    ds = d.dataset
    assert ds.X.shape == (7, 2) and ds.X.dtype == np.float64
    W = d.W_star
    np.testing.assert_array_equal(ds.y, W[ds.X[:, 0].astype(int), ds.X[:, 1].astype(int)])
    s = md.matrix_sensing((3, 4), rank=1, n_obs=5, seed=0)
    assert s.dataset.X.shape == (5, 12)
    # row-major flattening: X_k . vec(W) = <A_k, W>
    np.testing.assert_allclose(s.dataset.X @ s.W_star.reshape(-1), np.einsum("kij,ij->k", s.A, s.W_star))
    np.testing.assert_allclose(s.measure(s.W_star), s.y)


def test_generators_norm_rank_and_seed():
    W = md.low_rank_matrix((6, 8), rank=3, seed=0)
    assert np.linalg.matrix_rank(W) == 3
    assert np.linalg.norm(W) == pytest.approx(np.sqrt(48))
    assert np.linalg.norm(md.low_rank_matrix((6, 8), 3, 0, norm="unit")) == pytest.approx(1.0)
    d = md.matrix_completion((10, 10), rank=2, n_obs=30, seed=4)
    assert len({tuple(e) for e in d.entries.tolist()}) == 30
    np.testing.assert_array_equal(d.entries, md.matrix_completion((10, 10), 2, 30, seed=4).entries)
    with pytest.raises(ValueError, match="n_obs must be <= m n = 4"):
        md.matrix_completion((2, 2), 1, 5)


def test_commuting_sensing_is_simultaneously_diagonalizable():
    d = md.commuting_sensing(6, rank=2, n_obs=3, seed=0)
    A = d.A
    for i in range(3):
        np.testing.assert_allclose(A[i], A[i].T)
        for j in range(3):
            np.testing.assert_allclose(A[i] @ A[j], A[j] @ A[i], atol=1e-12)
    ev = np.linalg.eigvalsh(d.W_star)
    assert np.sum(ev > 1e-9) == 2 and ev.min() > -1e-9
    np.testing.assert_allclose(np.einsum("kij,ij->k", A, d.W_star), d.y, atol=1e-12)


def test_razin_cohen_problem():
    d = md.razin_cohen_completion()
    assert d.shape == (2, 2) and d.kind == "completion"
    W = np.array([[7.0, 1.0], [1.0, 0.0]])  # any w11 completes it, with det = -1
    np.testing.assert_array_equal(d.measure(W), d.y)


def test_load_matrix_npz(tmp_path):
    np.savez(tmp_path / "c.npz", entries=np.array([[0, 1], [1, 0]]), y=np.array([1.0, 2.0]), shape=np.array([2, 3]))
    c = md.load_matrix(tmp_path / "c.npz")
    assert c.kind == "completion" and c.shape == (2, 3)
    np.savez(tmp_path / "s.npz", A=np.ones((2, 2, 3)), y=np.array([1.0, 2.0]))
    s = md.load_matrix(tmp_path / "s.npz")
    assert s.kind == "sensing" and s.shape == (2, 3)
    assert md.is_matrix_file(tmp_path / "s.npz") and md.is_matrix_file(tmp_path / "c.npz")
    np.savez(tmp_path / "bad.npz", entries=np.array([[0, 1]]), y=np.array([1.0]))
    with pytest.raises(ValueError, match=r"missing array\(s\) \['shape'\]"):
        md.load_matrix(tmp_path / "bad.npz")
    with pytest.raises(ValueError, match="does not exist"):
        md.load_matrix(tmp_path / "none.npz")
