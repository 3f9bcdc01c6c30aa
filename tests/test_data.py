import numpy as np
import pytest

from implicit_bias import data


def test_dataset_validation_messages():
    with pytest.raises(ValueError, match="2-D"):
        data.Dataset(np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match="y has 2 entries but X has 3 rows"):
        data.Dataset(np.ones((3, 2)), np.ones(2))
    with pytest.raises(ValueError, match="NaN or Inf"):
        data.Dataset(np.array([[1.0, np.nan]]), np.ones(1))
    with pytest.raises(ValueError, match="empty"):
        data.Dataset(np.ones((0, 2)), np.ones(0))
    with pytest.raises(ValueError, match="-1 or \\+1"):
        data.Dataset(np.ones((2, 2)), np.array([0.0, 1.0]), task="classification")


def test_task_inference():
    assert data.Dataset(np.ones((2, 2)), np.array([1.0, -1.0])).task == "classification"
    assert data.Dataset(np.ones((2, 2)), np.array([0.5, -1.0])).task == "regression"


def test_sparse_regression_matches_azulay_section9():
    ds = data.sparse_regression(n=100, d=1000, sparsity=5, noise_var=0.01, seed=0)
    assert ds.X.shape == (100, 1000) and ds.y.shape == (100,)
    assert np.count_nonzero(ds.w_star) == 5
    np.testing.assert_allclose(ds.w_star[:5], 1 / np.sqrt(5))
    # noise variance: residual of the ground truth has variance ~ 0.01
    r = ds.y - ds.X @ ds.w_star
    assert 0.005 < np.var(r) < 0.02
    assert ds.population_error(ds.w_star) == pytest.approx(0.01)
    # same seed, same numbers
    np.testing.assert_array_equal(ds.X, data.sparse_regression(seed=0).X)


def test_sparse_regression_mean_shifts_every_coordinate_and_keeps_the_draws():
    # nacson2022's non-centred inputs: x_n ~ N(mean 1, I); the same random draws as mean = 0
    c = data.sparse_regression(n=400, d=6, sparsity=2, noise_var=0.0, seed=3)
    m = data.sparse_regression(n=400, d=6, sparsity=2, noise_var=0.0, seed=3, mean=2.5)
    np.testing.assert_allclose(m.X, c.X + 2.5, rtol=0, atol=1e-15)
    np.testing.assert_allclose(m.X.mean(0), 2.5, atol=4 / np.sqrt(400))  # 4 standard errors
    np.testing.assert_allclose(m.y, m.X @ m.w_star, rtol=0, atol=1e-12)  # noiseless: y = <beta*, x>
    assert "mean=2.5" in m.name and "mean" not in c.name
    np.testing.assert_array_equal(data.sparse_regression(n=5, d=4, sparsity=1, mean=0.0).X, data.sparse_regression(n=5, d=4, sparsity=1).X)
    with pytest.raises(ValueError, match="mean must be a finite number"):
        data.sparse_regression(n=5, d=4, sparsity=1, mean=float("nan"))


def test_separable_classification_is_separable_with_margin():
    ds = data.separable_classification(n=50, d=5, margin=0.3, seed=2)
    assert np.min(ds.y * (ds.X @ ds.w_star)) >= 0.3 - 1e-12


def test_random_regression_positive():
    ds = data.random_regression(n=4, d=10, seed=1, positive=True)
    assert np.all(ds.w_star > 0)
    np.testing.assert_allclose(ds.X @ ds.w_star, ds.y)


def test_load_npz_and_csv(tmp_path):
    X = np.arange(6.0).reshape(3, 2)
    y = np.array([1.0, 2.0, 3.0])
    np.savez(tmp_path / "d.npz", X=X, y=y, X_eval=np.ones((4, 2)))
    ds = data.load(tmp_path / "d.npz")
    np.testing.assert_array_equal(ds.X, X)
    assert ds.X_eval.shape == (4, 2)
    (tmp_path / "d.csv").write_text("a,b,y\n0,1,1\n2,3,2\n4,5,3\n")
    ds2 = data.load(tmp_path / "d.csv")
    np.testing.assert_array_equal(ds2.X, X)
    np.testing.assert_array_equal(ds2.y, y)


@pytest.mark.parametrize(
    "content,match",
    [
        ("1,2\n3,x\n", "non-numeric"),
        ("1,2,3\n4,5\n", "different numbers of columns"),
        ("1\n2\n", "at least two columns"),
        ("", "no numeric rows"),
        ("1,nan\n2,3\n", "NaN or Inf"),
    ],
)
def test_load_csv_errors(tmp_path, content, match):
    p = tmp_path / "bad.csv"
    p.write_text(content)
    with pytest.raises(ValueError, match=match):
        data.load(p)


def test_load_errors(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        data.load(tmp_path / "nope.npz")
    (tmp_path / "a.txt").write_text("x")
    with pytest.raises(ValueError, match="unknown extension"):
        data.load(tmp_path / "a.txt")
    np.savez(tmp_path / "m.npz", X=np.ones((2, 2)))
    with pytest.raises(ValueError, match="missing array"):
        data.load(tmp_path / "m.npz")
    (tmp_path / "c.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="cannot read"):
        data.load(tmp_path / "c.npz")


def test_huge_values_are_rejected():
    with pytest.raises(ValueError, match="rescale the data"):
        data.Dataset(np.array([[1e200, 1.0]]), np.ones(1))
    with pytest.raises(ValueError, match="rescale the data"):
        data.Dataset(np.ones((1, 2)), np.array([1e101]))


def test_csv_header_has_no_numbers_and_a_mixed_first_row_is_an_error(tmp_path):
    (tmp_path / "h.csv").write_text("x1,x2,y\n1,2,3\n4,5,6\n")
    assert data.load(tmp_path / "h.csv").X.shape == (2, 2)
    (tmp_path / "m.csv").write_text("1,2,x\n3,4,5\n6,7,8\n")  # not silently a header (one row fewer)
    with pytest.raises(ValueError, match="line 1 has a non-numeric value 'x'"):
        data.load(tmp_path / "m.csv")


def test_held_out_set_and_its_error(tmp_path):
    X, y = np.eye(3), np.array([1.0, -1.0, 1.0])
    Xt, yt = np.array([[1.0, 0.0, 0.0], [0.0, 2.0, 0.0]]), np.array([2.0, 0.5])
    reg = data.Dataset(X, y, "regression", X_test=Xt, y_test=yt)
    assert reg.test_error(np.array([1.0, 1.5])) == pytest.approx((1.0 + 1.0) / 2, rel=1e-15)  # mean squared, no 1/2
    cls = data.Dataset(X, y, "classification", X_test=Xt, y_test=np.array([1.0, -1.0]))
    assert cls.test_error(np.array([0.3, 0.2])) == 0.5  # the second point is misclassified
    assert cls.test_error(np.array([np.nan, -1.0])) == 0.5  # a non-finite output counts as wrong
    with pytest.raises(ValueError, match="come together"):
        data.Dataset(X, y, X_test=Xt)
    with pytest.raises(ValueError, match="X_test has 2 columns"):
        data.Dataset(X, y, X_test=np.ones((2, 2)), y_test=yt)
    with pytest.raises(ValueError, match="y_test has 3 entries"):
        data.Dataset(X, y, X_test=Xt, y_test=np.ones(3))
    with pytest.raises(ValueError, match="-1 or \\+1"):
        data.Dataset(X, y, "classification", X_test=Xt, y_test=yt)
    with pytest.raises(ValueError, match="held-out set"):
        data.Dataset(X, y).test_error(np.ones(2))
    np.savez(tmp_path / "d.npz", X=X, y=y * 0.5, X_test=Xt, y_test=yt)  # real targets: a regression file
    ds = data.load(tmp_path / "d.npz")
    assert np.array_equal(ds.X_test, Xt) and np.array_equal(ds.y_test, yt)
