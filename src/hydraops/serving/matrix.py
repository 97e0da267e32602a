"""Served rows as a LightGBM booster's float64 input matrix, built without pandas: the service's short path.

The matrix is the one the booster builds from ``prepare_features``' frame (LightGBM's pandas input): the
inputs in the spec's order; a numeric input as ``float(value)``, null as NaN; a categorical input as the
code of its training level, i.e. its position in the levels (``pandas.Categorical(...).codes``, which the
booster's ``pandas_categorical`` keeps), NaN for null or a value outside the levels. Predictions from it
are the frame's bit for bit (``tests/serving/test_matrix.py``).

A value is matched to a level of exactly its type (``"1"`` is not ``1``, ``True`` is not ``1``); where
pandas might match across types (an ``int`` among ``float`` levels) :meth:`MatrixBuilder.build` answers
None and the caller takes the pandas path, so no case is decided differently from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hydraops.serving.spec import ServingSpec

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

_NAN = float("nan")


@dataclass(frozen=True)
class _Categorical:
    position: int  # the input's column
    codes: dict[tuple[type, Any], float]  # (type, level) -> its code
    only: type | None  # the one type of every level (a value of another type might match in pandas), or None


@dataclass(frozen=True)
class MatrixBuilder:
    names: list[str]
    categorical: list[_Categorical]

    @classmethod
    def for_booster(cls, spec: ServingSpec, booster: Any) -> MatrixBuilder | None:
        """The builder for ``booster`` served under ``spec``; None when the booster's recorded levels
        (``pandas_categorical``) are not the spec's, where only pandas' remapping gives the codes."""
        names = list(spec.feature_names)
        levels = [list(spec.categories[name]) for name in names if name in spec.categories]
        recorded = getattr(booster, "pandas_categorical", None)
        if recorded is not None and [list(r) for r in recorded] != levels:
            return None
        categorical = []
        for position, name in enumerate(names):
            if name in spec.categories:
                found = list(spec.categories[name])
                codes = {(type(level), level): float(code) for code, level in enumerate(found)}
                types = {type(level) for level in found}
                categorical.append(_Categorical(position, codes, types.pop() if len(types) == 1 else None))
        return cls(names, categorical)

    def build(self, values: list[dict[str, Any]]) -> np.ndarray | None:
        """The (rows, inputs) float64 matrix of ``values`` (each row: every input by name); None when a
        categorical value's code needs pandas' matching (see the module's docstring)."""
        import numpy as np

        lines = []
        for row in values:
            line = [_NAN if (value := row[name]) is None else value for name in self.names]
            for column in self.categorical:
                value = line[column.position]
                if value is _NAN:
                    continue
                try:
                    code = column.codes.get((type(value), value))
                except TypeError:  # unhashable: pandas says what it is
                    return None
                if code is None:
                    if type(value) is not column.only:
                        return None
                    code = _NAN  # a level of the levels' own type that is not among them: unseen → missing
                line[column.position] = code
            lines.append(line)
        return np.array(lines, dtype=float).reshape(len(values), len(self.names))


def frame_matrix(frame: pd.DataFrame) -> np.ndarray:
    """A prepared frame (``prepare_features``) as the float64 matrix a LightGBM booster makes of it
    (``lightgbm.basic._data_from_pandas``): categoricals as their codes, missing as NaN, in the common
    dtype of the columns and float32, then float64."""
    import numpy as np
    import pandas as pd

    columns = {}
    for name in frame.columns:
        column = frame[name]
        if isinstance(column.dtype, pd.CategoricalDtype):
            column = column.cat.codes.replace({-1: np.nan})
        columns[name] = column
    data = pd.DataFrame(columns, index=frame.index)
    target = np.result_type(*[dtype.type for dtype in data.dtypes], np.float32)
    return data.to_numpy(dtype=target, na_value=np.nan).astype(float)
