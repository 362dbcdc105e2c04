import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.ensemble import IsolationForest

from models.forest import CompiledForest

N_FEATURES = 6


def training_data(seed: int = 0, rows: int = 2000, nan_rate: float = 0.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, N_FEATURES)) * [1.0, 10.0, 0.1, 1.0, 1e4, 1.0]
    X[rng.random(X.shape) < nan_rate] = np.nan
    return X


def fit_forest(seed: int = 0, X: np.ndarray | None = None, **params) -> IsolationForest:
    X = training_data(seed) if X is None else X
    return IsolationForest(random_state=seed, **params).fit(X)


def split_thresholds(forest: IsolationForest) -> list[np.ndarray]:
    """The thresholds each column is split at, read from sklearn's trees."""
    found: list[list[float]] = [[] for _ in range(forest.n_features_in_)]
    for estimator, subset in zip(forest.estimators_, forest.estimators_features_, strict=True):
        tree = estimator.tree_
        split = tree.children_left >= 0
        subset = np.asarray(subset)
        columns = (
            tree.feature[split]
            if len(subset) == forest.n_features_in_
            else subset[tree.feature[split]]
        )
        for column, threshold in zip(columns, tree.threshold[split], strict=True):
            found[column].append(threshold)
    return [np.array(t) for t in found]


def probe_rows(forest: IsolationForest, seed: int = 1) -> np.ndarray:
    """Rows inside and far outside the training range, with NaN, +-inf and exact thresholds."""
    rng = np.random.default_rng(seed)
    scale = np.nanstd(training_data(), axis=0)
    typical = rng.normal(size=(800, N_FEATURES)) * scale
    far = rng.normal(size=(400, N_FEATURES)) * scale * rng.choice([20.0, 1e3, 1e6], (400, 1))
    special = rng.normal(size=(300, N_FEATURES)) * scale
    mask = rng.random(special.shape) < 0.3
    special[mask] = rng.choice([np.nan, np.inf, -np.inf, 1e30, -1e30], mask.sum())
    # A threshold, its float32 rounding and that float's neighbours: the ties a float32 cast
    # decides (a float64 threshold is rarely a float32, and sklearn compares float32 rows).
    on_split = np.zeros((1000, N_FEATURES))
    for column, thresholds in enumerate(split_thresholds(forest)):
        if thresholds.size == 0:
            continue
        t = rng.choice(thresholds, 1000)
        t32 = t.astype(np.float32)
        variants = np.stack(
            [t, t32, np.nextafter(t32, np.float32(np.inf)), np.nextafter(t32, np.float32(-np.inf))]
        )
        on_split[:, column] = variants[rng.integers(0, 4, 1000), np.arange(1000)]
    return np.vstack([typical, far, special, on_split])


@pytest.mark.parametrize(
    ("n_estimators", "max_samples", "max_features", "bootstrap"),
    [
        (10, 64, 1.0, False),
        (100, 256, 0.5, True),
        (200, "auto", 1.0, True),
        (100, 64, 0.5, False),
        (10, "auto", 0.5, True),
        (200, 256, 1.0, False),
        (10, 1, 1.0, False),  # one sample per tree: sklearn's zero-denominator case
    ],
)
def test_score_equals_sklearn_score_samples(n_estimators, max_samples, max_features, bootstrap):
    forest = fit_forest(
        n_estimators=n_estimators,
        max_samples=max_samples,
        max_features=max_features,
        bootstrap=bootstrap,
    )
    compiled = CompiledForest.from_sklearn(forest)
    X = probe_rows(forest)
    expected = -forest.score_samples(X)
    one_by_one = np.array([compiled.score(x) for x in X])
    assert np.abs(one_by_one - expected).max() <= 1e-9
    assert np.abs(compiled.score_many(X) - expected).max() <= 1e-9
    assert (compiled.n_trees, compiled.n_features) == (n_estimators, N_FEATURES)


def test_score_equals_sklearn_when_trained_with_missing_values():
    forest = fit_forest(X=training_data(nan_rate=0.05), n_estimators=50)
    compiled = CompiledForest.from_sklearn(forest)
    X = probe_rows(forest)
    expected = -forest.score_samples(X)
    assert np.abs(np.array([compiled.score(x) for x in X]) - expected).max() <= 1e-9
    assert np.abs(compiled.score_many(X) - expected).max() <= 1e-9


def test_from_sklearn_equals_pyod_iforest():
    from pyod.models.iforest import IForest

    X = training_data()
    model = IForest(n_estimators=50, max_samples=128, random_state=3).fit(X)
    rows = probe_rows(model.detector_)
    expected = -model.detector_.score_samples(rows)
    for source in (model.detector_, model):  # the sklearn estimator, or PyOD's wrapper
        compiled = CompiledForest.from_sklearn(source)
        assert np.abs(compiled.score_many(rows) - expected).max() <= 1e-9
        assert abs(compiled.score(rows[0]) - expected[0]) <= 1e-9


def test_from_arrays_round_trip_through_npz_gives_identical_scores():
    forest = fit_forest(n_estimators=30, max_features=0.5)
    compiled = CompiledForest.from_sklearn(forest)
    buffer = io.BytesIO()
    np.savez(buffer, **compiled.to_arrays())
    buffer.seek(0)
    with np.load(buffer, allow_pickle=False) as saved:
        restored = CompiledForest.from_arrays({k: saved[k] for k in saved.files})
    X = probe_rows(forest)
    assert np.array_equal(restored.score_many(X), compiled.score_many(X))
    assert all(restored.score(x) == compiled.score(x) for x in X[:200])
    assert np.array_equal(restored.contributions(X[0]), compiled.contributions(X[0]))
    for name, array in compiled.to_arrays().items():
        assert array.dtype.kind in "iuf", name
        assert np.array_equal(restored.to_arrays()[name], array, equal_nan=True), name


def test_to_arrays_returns_copies():
    compiled = CompiledForest.from_sklearn(fit_forest(n_estimators=10))
    x = training_data(seed=5)[0]
    before = compiled.score(x)
    for array in compiled.to_arrays().values():
        array[...] = 0
    assert compiled.score(x) == before


def test_score_many_agrees_with_score_across_batches():
    forest = fit_forest(n_estimators=200)
    compiled = CompiledForest.from_sklearn(forest)
    X = probe_rows(forest)  # more rows than one batch of 200 trees
    many = compiled.score_many(X)
    assert many.shape == (len(X),)
    assert np.array_equal(many, [compiled.score(x) for x in X])
    assert compiled.score_many(np.empty((0, N_FEATURES))).shape == (0,)


def test_score_accepts_lists_and_integers():
    compiled = CompiledForest.from_sklearn(fit_forest(n_estimators=10))
    assert compiled.score([0, 1, 0, 0, 2, 0]) == compiled.score(np.array([0.0, 1, 0, 0, 2, 0]))


def test_contributions_are_non_negative_shares_summing_to_one():
    forest = fit_forest(n_estimators=50, max_features=0.5)
    compiled = CompiledForest.from_sklearn(forest)
    for x in probe_rows(forest)[::25]:
        shares = compiled.contributions(x)
        assert shares.shape == (N_FEATURES,)
        assert shares.min() >= 0.0
        assert shares.sum() == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("extreme", [0, 1])
def test_contributions_credit_the_feature_that_isolates_an_outlier(extreme):
    X = np.random.default_rng(7).normal(size=(2000, 2))
    compiled = CompiledForest.from_sklearn(IsolationForest(random_state=7).fit(X))
    x = np.zeros(2)
    x[extreme] = 6.0
    shares = compiled.contributions(x)
    assert np.argmax(shares) == extreme
    assert shares[extreme] > 0.7


def test_contributions_are_zero_when_no_tree_splits():
    forest = fit_forest(X=np.ones((300, N_FEATURES)), n_estimators=10)
    compiled = CompiledForest.from_sklearn(forest)
    x = np.full(N_FEATURES, 5.0)
    assert np.array_equal(compiled.contributions(x), np.zeros(N_FEATURES))
    assert compiled.score(x) == -forest.score_samples(x[None])[0]


@pytest.mark.parametrize("shape", [(N_FEATURES - 1,), (N_FEATURES + 1,), (1, N_FEATURES), ()])
def test_score_rejects_a_row_of_the_wrong_shape(shape):
    compiled = CompiledForest.from_sklearn(fit_forest(n_estimators=10))
    with pytest.raises(ValueError, match="row of 6 features"):
        compiled.score(np.zeros(shape))
    with pytest.raises(ValueError, match="row of 6 features"):
        compiled.contributions(np.zeros(shape))


@pytest.mark.parametrize("shape", [(3, N_FEATURES - 1), (N_FEATURES,), (2, 3, N_FEATURES)])
def test_score_many_rejects_rows_of_the_wrong_shape(shape):
    compiled = CompiledForest.from_sklearn(fit_forest(n_estimators=10))
    with pytest.raises(ValueError, match="rows of 6 features"):
        compiled.score_many(np.zeros(shape))


def test_from_sklearn_rejects_an_unfitted_estimator():
    from pyod.models.iforest import IForest

    for unfitted in (IsolationForest(), IForest(), object()):
        with pytest.raises(ValueError, match="not a fitted IsolationForest"):
            CompiledForest.from_sklearn(unfitted)


def test_from_arrays_rejects_arrays_that_are_not_a_forest():
    arrays = CompiledForest.from_sklearn(fit_forest(n_estimators=10)).to_arrays()
    with pytest.raises(ValueError, match="lack roots"):
        CompiledForest.from_arrays({k: v for k, v in arrays.items() if k != "roots"})
    with pytest.raises(ValueError, match="one length"):
        CompiledForest.from_arrays(arrays | {"threshold": arrays["threshold"][:-1]})
    looping = arrays["left"].copy()
    looping[looping >= 0] = 0  # every split points back at the first root
    with pytest.raises(ValueError, match="inconsistent tree structure"):
        CompiledForest.from_arrays(arrays | {"left": looping})
    with pytest.raises(ValueError, match="inconsistent tree structure"):
        CompiledForest.from_arrays(arrays | {"n_features": np.array(2)})


def test_forest_module_imports_no_scikit_learn():
    code = "import sys, models.forest; sys.exit('sklearn' in sys.modules)"
    root = Path(__file__).resolve().parents[2]
    assert subprocess.run([sys.executable, "-c", code], cwd=root, check=False).returncode == 0


def test_contributions_of_many_rows_are_each_rows_own():
    compiled = CompiledForest.from_sklearn(fit_forest(n_estimators=30))
    X = np.random.default_rng(4).normal(scale=3.0, size=(40, N_FEATURES))
    together = compiled.contributions_many(X)
    assert together.shape == X.shape
    for row, shares in zip(X, together, strict=True):
        assert np.array_equal(shares, compiled.contributions(row))
