"""Exact explanations of linear scikit-learn models (LogisticRegression, LinearRegression, Ridge, Lasso...),
alone or behind hydraops' ``Pipeline(ColumnTransformer, estimator)``.

In the encoded space ``z`` the model takes (one-hot, ordinal, imputed, scaled columns) its raw prediction is
``intercept + coef·z`` (log-odds for a classifier: ``decision_function``). With ``m`` the mean of ``z`` over the
training rows (``background``, recorded at training in ``model_inputs.json``; zeros for a model trained before),
each encoded column contributes ``coef_j × (z_j − m_j)`` and the base is ``intercept + coef·m``: base plus the
contributions is the raw prediction, exactly up to rounding. An input feature's contribution is the sum over the
encoded columns it produced (a one-hot feature's columns summed back into it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd


def is_linear(model: Any) -> bool:
    """Whether ``model`` (an estimator or a Pipeline ending in one) is a fitted linear model hydraops explains:
    a single-output regressor or a binary classifier, with ``coef_`` and ``intercept_``."""
    import numpy as np
    from sklearn.linear_model._base import LinearClassifierMixin, LinearModel

    final = final_estimator(model)
    if not isinstance(final, (LinearModel, LinearClassifierMixin)) or not hasattr(final, "coef_"):
        return False
    coef = np.asarray(final.coef_)
    return coef.ndim == 1 or coef.shape[0] == 1  # one raw output: a regressor or a binary classifier


def encoded(model: Any, prepared: pd.DataFrame) -> np.ndarray:
    """The rows as the final estimator takes them (the pipeline's steps before it applied), as floats."""
    import numpy as np

    steps = getattr(model, "steps", None)
    data = model[:-1].transform(prepared) if steps and len(steps) > 1 else prepared
    return np.asarray(data, dtype=float)


def background(model: Any, prepared: pd.DataFrame) -> list[float] | None:
    """The mean of the encoded training rows ``prepared`` (None for a model that is not linear): what training
    records so that explanations are relative to the average training row."""
    if not is_linear(model):
        return None
    return [float(v) for v in encoded(model, prepared).mean(axis=0)]


def sources(model: Any, features: list[str]) -> list[int]:
    """For each encoded column, the index in ``features`` of the input it comes from."""
    steps = getattr(model, "steps", None)
    columns = model[0] if steps and len(steps) > 1 else None
    if columns is None or not hasattr(columns, "transformers_"):
        return list(range(len(features)))
    position = {name: i for i, name in enumerate(features)}
    names_in = list(getattr(columns, "feature_names_in_", features))
    found: list[int] = []
    for name, transformer, selected in columns.transformers_:
        piece = columns.output_indices_.get(name)
        width = 0 if piece is None else piece.stop - piece.start
        if not width or transformer == "drop":
            continue
        inputs = [names_in[c] if isinstance(c, int) else c for c in ([selected] if isinstance(selected, (str, int)) else list(selected))]
        if width == len(inputs):
            found += [position[n] for n in inputs]
            continue
        encoder = transformer.steps[-1][1] if hasattr(transformer, "steps") else transformer
        counts = [len(levels) for levels in encoder.categories_]
        if sum(counts) != width:
            raise ValueError(f"cannot map the {width} encoded columns of '{name}' back to {', '.join(inputs)}")
        for n, count in zip(inputs, counts):
            found += [position[n]] * count
    return found


def explain_linear(model: Any, prepared: pd.DataFrame, features: list[str], mean: list[float] | None, classification: bool):
    """(base, contributions by input feature, raw prediction) for the rows ``prepared``."""
    import numpy as np

    final = final_estimator(model)
    z = encoded(model, prepared)
    coef = np.asarray(final.coef_, dtype=float).reshape(-1)
    intercept = float(np.asarray(final.intercept_, dtype=float).reshape(-1)[0])  # an array (classifiers) or a float
    m = np.zeros(z.shape[1]) if not mean else np.asarray(mean, dtype=float)
    if m.shape != coef.shape or z.shape[1] != coef.shape[0]:
        raise ValueError(f"the model takes {coef.shape[0]} encoded columns; the rows give {z.shape[1]}, the background {m.shape[0]}")
    encoded_contributions = (z - m) * coef
    contributions = np.zeros((len(z), len(features)))
    for column, source in enumerate(sources(model, features)):
        contributions[:, source] += encoded_contributions[:, column]
    base = np.full(len(z), intercept + float(coef @ m))
    raw = model.decision_function(prepared) if classification else model.predict(prepared)
    return base, contributions, np.asarray(raw, dtype=float).reshape(-1)


def final_estimator(model: Any) -> Any:
    """The estimator itself, or the last step of a Pipeline."""
    steps = getattr(model, "steps", None)
    return steps[-1][1] if steps else model


__all__ = ["background", "encoded", "explain_linear", "final_estimator", "is_linear", "sources"]
