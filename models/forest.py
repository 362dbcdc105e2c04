"""A fitted Isolation Forest compiled into flat numpy arrays, scored without scikit-learn.

scikit-learn spends milliseconds per ``score_samples`` call whatever the batch size, far too
slow to score transactions one at a time. :class:`CompiledForest` copies the trees of a fitted
``sklearn.ensemble.IsolationForest`` (PyOD's ``IForest`` keeps one as ``detector_``) into
arrays and walks every tree at once, one numpy step per tree level. Scores equal
``-forest.score_samples(X)``: anomaly scores in (0, 1], higher is more anomalous.

Layout: the nodes of all trees share one set of arrays, each tree's nodes in breadth-first
order, so a split node's children are ``left`` and ``left + 1`` and come after it.

>>> import numpy as np
>>> from sklearn.ensemble import IsolationForest
>>> X = np.random.default_rng(0).normal(size=(500, 3))
>>> forest = IsolationForest(n_estimators=20, random_state=0).fit(X)
>>> compiled = CompiledForest.from_sklearn(forest)
>>> bool(np.allclose(compiled.score_many(X), -forest.score_samples(X), rtol=0, atol=1e-12))
True
>>> compiled.score(np.array([6.0, 0.0, 0.0])) > compiled.score(np.zeros(3))
True
>>> int(np.argmax(compiled.contributions(np.array([6.0, 0.0, 0.0]))))
0
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import numpy as np

#: Tree nodes walked at once by :meth:`CompiledForest.score_many`: bounds its temporary arrays.
_BATCH_NODES: Final = 1 << 16

_NODE_KEYS: Final = ("feature", "threshold", "left", "nan_left", "path_length", "n_node_samples")
_DTYPES: Final = {
    "feature": np.int64,  # column of the row tested by a split; -1 at leaves
    "threshold": np.float64,  # a split sends x to ``left`` when x <= threshold; NaN at leaves
    "left": np.int64,  # first child of a split (the other is left + 1); -1 at leaves
    "nan_left": np.int8,  # 1 if a missing value (NaN) goes to ``left``
    "path_length": np.float64,  # depth (root 1) + c(n_node_samples) - 1: a row's path if leaf
    "n_node_samples": np.int64,  # training samples that reached the node
    "roots": np.int64,  # root node of each tree
    "n_features": np.int64,  # 0-d: length of a row
    "max_samples": np.int64,  # 0-d: samples per tree, normalises path lengths
}


def _average_path_length(n_samples: np.ndarray) -> np.ndarray:
    """c(n), the average path length of an unsuccessful search in a BST of n points."""
    # The operations and their order are sklearn.ensemble._iforest's, so the floats match exactly.
    n = np.asarray(n_samples, dtype=np.float64)
    out = np.zeros_like(n)
    out[n == 2] = 1.0
    big = n > 2
    out[big] = 2.0 * (np.log(n[big] - 1.0) + np.euler_gamma) - 2.0 * (n[big] - 1.0) / n[big]
    return out


def _compile_tree(tree: Any, columns: np.ndarray) -> dict[str, np.ndarray]:
    """One sklearn ``Tree`` as node arrays in breadth-first order, numbered from 0."""
    old_left, old_right = tree.children_left, tree.children_right
    frontier = np.zeros(1, dtype=np.intp)
    order, depth = [frontier], [np.ones(1, dtype=np.int64)]
    while (split := frontier[old_left[frontier] >= 0]).size:
        frontier = np.stack((old_left[split], old_right[split]), axis=1).ravel()
        order.append(frontier)
        depth.append(np.full(frontier.size, len(depth) + 1, dtype=np.int64))
    old = np.concatenate(order)
    new = np.empty(tree.node_count, dtype=np.int64)
    new[old] = np.arange(old.size)
    leaf = old_left[old] < 0
    n_samples = tree.n_node_samples[old]
    return {
        "feature": np.where(leaf, -1, columns[np.where(leaf, 0, tree.feature[old])]),
        "threshold": np.where(leaf, np.nan, tree.threshold[old]),
        "left": np.where(leaf, -1, new[old_left[old]]),
        "nan_left": tree.missing_go_to_left[old].astype(np.int8),
        # sklearn adds depth and c(n) first, then subtracts 1; same order, same bits.
        "path_length": np.concatenate(depth) + _average_path_length(n_samples) - 1.0,
        "n_node_samples": n_samples,
    }


class CompiledForest:
    """An Isolation Forest as flat arrays: exact sklearn scores in microseconds per row."""

    n_features: int
    n_trees: int

    def __init__(self, arrays: Mapping[str, np.ndarray]) -> None:
        """Build from :meth:`to_arrays` output; ValueError if the arrays are not a forest."""
        missing = sorted(set(_DTYPES) - set(arrays))
        if missing:
            raise ValueError(f"forest arrays lack {', '.join(missing)}")
        a = {k: np.array(arrays[k], dtype=dtype, copy=True) for k, dtype in _DTYPES.items()}
        n_nodes = a["feature"].size
        if any(a[k].shape != (n_nodes,) for k in _NODE_KEYS) or a["roots"].ndim != 1:
            raise ValueError("forest arrays: node arrays must be 1-D and of one length")
        if a["n_features"].shape or a["max_samples"].shape:
            raise ValueError("forest arrays: n_features and max_samples must be scalars")
        self.n_features, self.n_trees = int(a["n_features"]), a["roots"].size
        index = np.arange(n_nodes)
        split = a["feature"] >= 0
        left = a["left"][split]
        # Children numbered after their parent make every walk end within n_nodes steps.
        if (
            self.n_trees == 0
            or np.any((a["roots"] < 0) | (a["roots"] >= n_nodes))
            or np.any((a["feature"] < -1) | (a["feature"] >= self.n_features))
            or np.any((left <= index[split]) | (left + 1 >= n_nodes))
        ):
            raise ValueError("forest arrays: inconsistent tree structure")
        self._arrays = a
        n = self.n_features
        # Rows become [x with NaN as -inf, x with NaN as +inf] (see _values): a split whose
        # NaNs go right reads the second half, so no NaN test is needed when scoring.
        self._column = np.where(split, a["feature"] + n * (a["nan_left"] == 0), 0)
        # Leaves loop onto themselves (nothing exceeds +inf), so every walk takes
        # the same number of steps whatever depth its leaf is at.
        self._threshold = np.where(split, a["threshold"], np.inf)
        self._next = np.where(split, a["left"], index)
        self._path_length = a["path_length"]
        self._roots = a["roots"]
        self._log2_samples = np.log2(np.maximum(a["n_node_samples"], 1))
        # The feature a split credits; leaves (none) credit feature 0 with 0 bits.
        self._credited = np.where(split, a["feature"], 0)
        self._levels = 0
        frontier = self._roots
        while (frontier := frontier[split[frontier]]).size:
            frontier = np.unique(np.concatenate((self._next[frontier], self._next[frontier] + 1)))
            self._levels += 1
        c = float(_average_path_length(a["max_samples"].reshape(1))[0])
        self._denominator = self.n_trees * c

    @classmethod
    def from_sklearn(cls, forest: Any) -> CompiledForest:
        """Compile a fitted ``IsolationForest`` (or a fitted PyOD ``IForest``).

        ValueError if ``forest`` is not fitted. Only the fitted attributes are read, so
        scikit-learn is not imported here.
        """
        forest = getattr(forest, "detector_", forest)  # PyOD's IForest wraps the sklearn model
        try:
            estimators, subsets = forest.estimators_, forest.estimators_features_
            n_features, max_samples = int(forest.n_features_in_), int(forest.max_samples_)
        except AttributeError:
            raise ValueError(f"{type(forest).__name__} is not a fitted IsolationForest") from None
        parts, roots, offset = [], [], 0
        for estimator, subset in zip(estimators, subsets, strict=True):
            # sklearn hands a tree only its columns when it drew fewer than all; with all of
            # them it passes X unchanged, even though estimators_features_ lists them.
            columns = np.arange(n_features) if len(subset) == n_features else np.asarray(subset)
            part = _compile_tree(estimator.tree_, columns)
            part["left"] = np.where(part["left"] >= 0, part["left"] + offset, -1)
            parts.append(part)
            roots.append(offset)
            offset += part["feature"].size
        arrays = {k: np.concatenate([p[k] for p in parts]) for k in _NODE_KEYS}
        arrays |= {"roots": np.array(roots), "n_features": np.array(n_features)}
        return cls(arrays | {"max_samples": np.array(max_samples)})

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray]) -> CompiledForest:
        """The forest saved by :meth:`to_arrays`; ValueError if the arrays are not one."""
        return cls(arrays)

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Copies of the plain numeric arrays that define this forest (``np.savez``-ready)."""
        return {k: v.copy() for k, v in self._arrays.items()}

    def score(self, x: np.ndarray) -> float:
        """The anomaly score of one row, equal to ``-forest.score_samples(x[None])[0]``."""
        x = np.asarray(x)
        if x.shape != (self.n_features,):
            raise ValueError(f"expected a row of {self.n_features} features, got shape {x.shape}")
        leaves = self._walk(self._roots, self._values(x), None)
        # Summed tree by tree as sklearn does (not pairwise as np.sum), for identical floats.
        return float(self._normalise(np.add.accumulate(self._path_length.take(leaves))[-1]))

    def score_many(self, X: np.ndarray) -> np.ndarray:
        """Anomaly scores of the rows of ``X`` (n_rows, n_features): :meth:`score` row by row."""
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise ValueError(f"expected rows of {self.n_features} features, got shape {X.shape}")
        totals = np.empty(len(X))
        step = max(1, _BATCH_NODES // self.n_trees)
        for start in range(0, len(X), step):
            chunk = X[start : start + step]
            offsets = np.arange(len(chunk))[:, None] * (2 * self.n_features)
            nodes = np.tile(self._roots, (len(chunk), 1))
            leaves = self._walk(nodes, self._values(chunk), offsets)
            totals[start : start + len(chunk)] = np.add.accumulate(
                self._path_length.take(leaves), axis=1
            )[:, -1]
        return self._normalise(totals)

    def contributions(self, x: np.ndarray) -> np.ndarray:
        """How much each feature isolated row ``x``: shares >= 0 summing to 1 (all 0 if none).

        Each split on the row's path in each tree credits its feature with
        ``log2(samples at the split / samples in the child the row went to)``, the bits of
        isolation it gave. A split that leaves the row with few training samples counts much;
        one that halves the node counts one bit, one that barely separates counts little.
        """
        x = np.asarray(x)
        if x.shape != (self.n_features,):
            raise ValueError(f"expected a row of {self.n_features} features, got shape {x.shape}")
        return self.contributions_many(x[None, :])[0]

    def contributions_many(self, X: np.ndarray) -> np.ndarray:
        """:meth:`contributions` of each row of ``X``, walked together: (n_rows, n_features)."""
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise ValueError(f"expected rows of {self.n_features} features, got shape {X.shape}")
        n_rows, n_features = X.shape
        offsets = np.arange(n_rows)[:, None] * (2 * n_features)
        node = np.tile(self._roots, (n_rows, 1))
        values = self._values(X)
        # Bins row * n_features + feature: one bincount credits every row at once,
        # adding each row's bits in the same order as a row on its own.
        row_bins = np.arange(n_rows)[:, None] * n_features
        credit = np.zeros(n_rows * n_features)
        # A row at a leaf stays there: its bits are log2(n / n) = 0.
        feature, log2_samples = self._credited, self._log2_samples
        for _ in range(self._levels):
            child = self._walk(node, values, offsets, levels=1)
            bits = log2_samples.take(node) - log2_samples.take(child)
            bins = row_bins + feature.take(node)
            credit += np.bincount(bins.ravel(), bits.ravel(), minlength=credit.size)
            node = child
        credit = credit.reshape(n_rows, n_features)
        total = credit.sum(axis=1, keepdims=True)
        return np.divide(credit, total, out=np.zeros_like(credit), where=total > 0)

    def _values(self, X: np.ndarray) -> np.ndarray:
        """Rows flattened in the layout ``self._column`` indexes, rounded to float32 as sklearn."""
        # sklearn casts rows to float32 and compares them with float64 thresholds; holding
        # those float32 values as float64 gives the same comparisons without mixed types.
        X32 = np.asarray(X, dtype=np.float32)
        out = np.empty((*X32.shape[:-1], 2, self.n_features))
        np.fmax(X32, -np.inf, out=out[..., 0, :])
        np.fmin(X32, np.inf, out=out[..., 1, :])
        return out.reshape(-1)

    def _walk(
        self, nodes: np.ndarray, values: np.ndarray, offsets: np.ndarray | None, levels: int = -1
    ) -> np.ndarray:
        """Move ``nodes`` down ``levels`` levels (all by default); ``offsets``: row starts."""
        column, nxt, threshold = self._column, self._next, self._threshold
        for _ in range(self._levels if levels < 0 else levels):
            columns = column.take(nodes)
            if offsets is not None:
                columns += offsets
            nodes = nxt.take(nodes) + (values.take(columns) > threshold.take(nodes))
        return nodes

    def _normalise(self, total_path_length: Any) -> Any:
        """Scores from path lengths summed over the trees (array or numpy scalar), as sklearn."""
        # numpy's power, not Python's: the two can differ in the last bit.
        if self._denominator == 0:  # one sample per tree: sklearn then takes a ratio of 1
            return np.power(2.0, -np.ones_like(total_path_length))
        return np.power(2.0, -(total_path_length / self._denominator))
