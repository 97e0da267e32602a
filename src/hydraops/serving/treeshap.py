"""LightGBM's TreeSHAP (``pred_contrib``: path-dependent, weighted by data counts) from tables made once.

For one leaf, the path-dependent value of a coalition S is ``v · Π_k (p_k if k ∈ S else z_k)`` over the
distinct features k on the leaf's path: ``p_k`` is 1 when the row satisfies every split on k there, ``z_k``
the product of those splits' data fractions. The leaf's Shapley values depend on the row only through
which of its features are satisfied — a bit mask — so each leaf's values for every mask are computed once
(``n · 2^n`` numbers for n distinct features; the idea of Fast TreeSHAP v2, Yang 2021). Explaining a row is
then an interval test per (leaf, feature) pair, a mask per leaf and a table lookup per pair, in NumPy:
about a sixth of ``pred_contrib``'s time on one row of a 200-tree model, and the raw score comes with it
(the leaf whose every pair holds is the row's leaf). The contributions are ``pred_contrib``'s up to the last
bits (another order of summation), the raw score ``raw_score``'s bit for bit: tests/serving/test_treeshap.py
compares them on random models with missing values, zeros as missing and categorical splits.

:func:`tables_for` answers None — the caller then uses ``pred_contrib`` — for a model it does not cover:
several outputs per row, averaged trees (random forests), linear trees, or tables over ``budget`` numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import factorial, prod
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

_ZERO = 1.0000000180025095e-35  # LightGBM's kZeroThreshold (1e-35f): |x| <= it is zero, for zero-as-missing
_BLOCK_NUMBERS = 1 << 22  # leaves' tables computed at once: bounds the working arrays of the build


@dataclass(frozen=True)
class _Split:
    """One split on a leaf's path, as the path takes it."""

    feature: int
    left: bool  # the path goes to the left child
    fraction: float  # the path's child's data count / the node's
    threshold: float  # numerical splits
    categories: frozenset[int] | None  # categorical splits: the categories going left
    missing: str  # "None", "Zero" or "NaN"
    default_left: bool

    def satisfied(self, x: float) -> bool:
        """Whether ``x`` takes the path's side: LightGBM's ``NumericalDecision`` / ``CategoricalDecision``."""
        nan = x != x
        if self.categories is not None:
            return (not nan and int(x) >= 0 and int(x) in self.categories) == self.left
        if nan and self.missing != "NaN":
            x, nan = 0.0, False
        if (self.missing == "Zero" and abs(x) <= _ZERO) or (self.missing == "NaN" and nan):
            return self.default_left == self.left
        return (x <= self.threshold) == self.left


def tables_for(booster: Any, budget: int = 1 << 22) -> TreeShapTables | None:
    """The tables of a LightGBM ``Booster``; None for several outputs per row, averaged trees, linear trees,
    or tables over ``budget`` numbers (8 bytes each: 32 MiB by default)."""
    import numpy as np

    model = booster.dump_model()
    if model.get("num_tree_per_iteration", 1) != 1 or model.get("average_output"):
        return None
    leaves: list[tuple[int, float, list[_Split]]] = []  # (tree, value, path)
    constants = np.zeros(len(model["tree_info"]))  # one-leaf trees' values: they only move the base value
    for number, tree in enumerate(model["tree_info"]):
        stack = [(tree["tree_structure"], [])]
        while stack:
            node, path = stack.pop()
            if "leaf_coeff" in node:
                return None
            if "leaf_value" in node:
                if path:
                    leaves.append((number, node["leaf_value"], path))
                else:
                    constants[number] = node["leaf_value"]
                continue
            categorical = node["decision_type"] == "=="
            for left, child in ((True, node["left_child"]), (False, node["right_child"])):
                count = child["internal_count"] if "split_index" in child else child["leaf_count"]
                split = _Split(node["split_feature"], left, count / node["internal_count"],
                               np.nan if categorical else float(node["threshold"]),
                               frozenset(int(c) for c in str(node["threshold"]).split("||")) if categorical else None,
                               node["missing_type"], bool(node["default_left"]))  # fmt: skip
                stack.append((child, [*path, split]))
    sizes = [len({split.feature for split in path}) for _, _, path in leaves]
    if sum(n << n for n in sizes) > budget:
        return None
    base = float(booster.predict(np.zeros((1, booster.num_feature())), pred_contrib=True)[0, -1])
    return TreeShapTables.build(leaves, constants, booster.num_feature(), base)


@dataclass(frozen=True)
class _Feature:
    """One feature's (leaf, feature) pairs: ``pairs`` (a slice of the pair arrays) and its special values."""

    pairs: slice
    if_nan: np.ndarray  # whether a missing value satisfies each pair
    zero: tuple[np.ndarray, np.ndarray, np.ndarray] | None  # zero-as-missing splits: a zero satisfies a pair
    # when constant & (lower < x <= upper)
    categories: np.ndarray | None  # categorical: (pairs, n + 1) whether category c < n satisfies each pair;
    # column n: any other value (negative, larger, missing: LightGBM sends them all right)


@dataclass(frozen=True)
class TreeShapTables:
    features: int
    base: float
    table: np.ndarray  # leaf after leaf: for a leaf of n features, 2^n masks × n contributions
    leaf_offset: np.ndarray  # per leaf: where its block starts in ``table``, its number of features
    leaf_size: np.ndarray
    leaf_tree: np.ndarray  # per leaf: its tree and value (the row's leaf in a tree: the one whose every pair holds)
    leaf_value: np.ndarray
    constants: np.ndarray  # per tree: a one-leaf tree's value, else 0
    pair_leaf: np.ndarray  # per (leaf, feature) pair, a feature's pairs together
    pair_slot: np.ndarray  # the feature's place among its leaf's
    lower: np.ndarray  # numerical pairs are satisfied by lower < x <= upper (categorical: never by it)
    upper: np.ndarray
    to_leaves: Any  # sparse (leaves, pairs): 2^slot where the pair is the leaf's, so masks = to_leaves @ satisfied
    by_feature: list[_Feature]
    counts: np.ndarray  # per feature: its number of pairs
    used: np.ndarray  # the features with pairs, and where their pairs start
    starts: np.ndarray
    categorical: list[int]  # the features whose splits are categorical
    zero: list[int]  # the features with zero-as-missing splits

    @classmethod
    def build(cls, leaves: list[tuple[int, float, list[_Split]]], constants: np.ndarray, features: int, base: float) -> TreeShapTables:
        import numpy as np
        from scipy import sparse

        pairs: list[tuple[int, int, int, list[_Split]]] = []  # (feature, leaf, slot, its splits)
        fractions = []
        for leaf, (_, _, path) in enumerate(leaves):
            on_path: dict[int, list[_Split]] = {}
            for split in path:
                on_path.setdefault(split.feature, []).append(split)
            pairs += [(feature, leaf, slot, splits) for slot, (feature, splits) in enumerate(on_path.items())]
            fractions.append([prod(s.fraction for s in splits) for splits in on_path.values()])
        pairs.sort(key=lambda pair: pair[0])
        size = np.array([len(f) for f in fractions], dtype=np.int64)
        offset = np.cumsum(size << size) - (size << size)
        table = np.empty(int((size << size).sum()))
        values = np.array([value for _, value, _ in leaves])
        for n in np.unique(size):
            group = np.flatnonzero(size == n)
            for chunk in np.array_split(group, -(-len(group) * (int(n) << int(n)) // _BLOCK_NUMBERS)):
                blocks = _shapley_blocks(np.array([fractions[i] for i in chunk])) * values[chunk, None, None]
                table[(offset[chunk, None] + np.arange(int(n) << int(n))).ravel()] = blocks.ravel()
        leaf = np.array([p[1] for p in pairs], dtype=np.intp)
        slot = np.array([p[2] for p in pairs], dtype=np.int64)
        lower, upper = _intervals([p[3] for p in pairs])
        to_leaves = sparse.csr_array((np.ldexp(1.0, slot), (leaf, np.arange(len(pairs)))), shape=(len(leaves), len(pairs)))
        counts = np.bincount([p[0] for p in pairs], minlength=features)
        bounds = np.concatenate([[0], np.cumsum(counts)])
        by_feature = [_feature([p[3] for p in pairs[bounds[f] : bounds[f + 1]]], slice(bounds[f], bounds[f + 1])) for f in range(features)]
        for feature in by_feature:
            if feature.categories is not None:
                lower[feature.pairs] = np.inf
        used = np.flatnonzero(counts)
        categorical = [f for f, feature in enumerate(by_feature) if feature.categories is not None]
        zero = [f for f, feature in enumerate(by_feature) if feature.zero is not None]
        trees = np.array([tree for tree, _, _ in leaves], dtype=np.intp)
        return cls(
            features,
            base,
            table,
            offset,
            size,
            trees,
            values,
            constants,
            leaf,
            slot,
            lower,
            upper,
            to_leaves,
            by_feature,
            counts,
            used,
            bounds[used],
            categorical,
            zero,
        )

    def __call__(self, matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For the (rows, features) float64 ``matrix``: ``pred_contrib``'s (rows, features + 1), the base
        last, and ``raw_score``'s (rows,) bit for bit (the rows' leaves summed in tree order, as LightGBM does)."""
        import numpy as np

        contributions, raw = np.empty((len(matrix), self.features + 1)), np.empty(len(matrix))
        for row, values in enumerate(matrix):
            contributions[row, :-1], raw[row] = self._explain(values)
        contributions[:, -1] = self.base
        return contributions, raw

    def _explain(self, row: np.ndarray) -> tuple[np.ndarray, float]:
        import numpy as np

        x = np.repeat(row, self.counts)
        satisfied = (self.lower < x) & (x <= self.upper)
        for index in self.categorical:
            value, categories = row[index], self.by_feature[index].categories
            known = -1 < value < categories.shape[1] - 1  # int() truncates: -0.5 is category 0; NaN is not known
            satisfied[self.by_feature[index].pairs] = categories[:, int(value) if known else -1]
        for index in np.flatnonzero(np.isnan(row)) if np.isnan(row).any() else ():
            if self.by_feature[index].categories is None:
                satisfied[self.by_feature[index].pairs] = self.by_feature[index].if_nan
        for index in self.zero:
            if abs(row[index]) <= _ZERO:
                constant, lower, upper = self.by_feature[index].zero
                satisfied[self.by_feature[index].pairs] = constant & (lower < row[index]) & (row[index] <= upper)
        masks = (self.to_leaves @ satisfied.astype(float)).astype(np.int64)  # each leaf's: Σ 2^slot over its satisfied pairs
        values = self.table[(self.leaf_offset + masks * self.leaf_size)[self.pair_leaf] + self.pair_slot]
        contributions = np.zeros(self.features)
        if len(values):
            contributions[self.used] = np.add.reduceat(values, self.starts)
        outputs = self.constants.copy()
        reached = masks == (1 << self.leaf_size) - 1
        outputs[self.leaf_tree[reached]] = self.leaf_value[reached]
        return contributions, float(np.cumsum(outputs)[-1]) if len(outputs) else 0.0


def _shapley_blocks(fractions: np.ndarray) -> np.ndarray:
    """For leaves of n features each, ``fractions`` (leaves, n): the Shapley values of a unit leaf value,
    (leaves, 2^n masks, n): ``[mask, i] = (p_i − z_i) · Σ_{S ⊆ mask∖i} |S|!(n−|S|−1)!/n! · Π_{k ∉ S ∪ {i}} z_k``."""
    import numpy as np

    leaves, n = fractions.shape
    weights = np.array([factorial(s) * factorial(n - s - 1) / factorial(n) for s in range(n)])
    masks = np.arange(1 << n)
    out = np.empty((leaves, 1 << n, n))
    for i in range(n):
        others = np.delete(fractions, i, axis=1)
        poly = np.zeros((leaves, 1, n))  # per mask of the others: Σ_{S ⊆ mask} t^|S| · Π_{others ∉ S} z
        poly[:, 0, 0] = 1.0
        for j in range(n - 1):
            scaled = poly * others[:, j, None, None]
            shifted = np.zeros_like(poly)
            shifted[:, :, 1:] = poly[:, :, :-1]
            poly = np.concatenate([scaled, scaled + shifted], axis=1)
        sums = poly @ weights
        low = (1 << i) - 1
        without_i = (masks & low) | ((masks >> 1) & ~low)
        out[:, :, i] = sums[:, without_i] * (((masks >> i) & 1) - fractions[:, i, None])
    return out


def _intervals(pairs: list[list[_Split]]) -> tuple[np.ndarray, np.ndarray]:
    """Per pair of numerical splits: the interval (lower, upper] of the values satisfying them all."""
    import numpy as np

    lower = np.array([max((s.threshold for s in splits if not s.left), default=-np.inf) for splits in pairs])
    upper = np.array([min((s.threshold for s in splits if s.left), default=np.inf) for splits in pairs])
    return lower, upper


def _feature(pairs: list[list[_Split]], where: slice) -> _Feature:
    """The special values of one feature's pairs: missing, zero (zero-as-missing splits), categories."""
    import numpy as np

    if_nan = np.array([all(s.satisfied(np.nan) for s in splits) for splits in pairs], dtype=bool)
    zero = categories = None
    if pairs and pairs[0][0].categories is not None:
        n = max(max(s.categories, default=0) for splits in pairs for s in splits) + 1
        categories = np.ones((len(pairs), n + 1), dtype=bool)
        for row, splits in enumerate(pairs):
            for split in splits:
                inside = np.zeros(n + 1, dtype=bool)
                inside[list(split.categories)] = True
                categories[row] &= inside if split.left else ~inside  # column n: never inside, so right
    elif any(s.missing == "Zero" for splits in pairs for s in splits):
        constant = np.array([all(s.default_left == s.left for s in splits if s.missing == "Zero") for splits in pairs])
        zero = (constant, *_intervals([[s for s in splits if s.missing != "Zero"] for splits in pairs]))
    return _Feature(where, if_nan, zero, categories)
