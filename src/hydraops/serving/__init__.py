"""Serving: a registered model version and the project's declarations, bundled so nothing at serve time
needs Hydra or the project's ``conf/``.

    spec.py       ServingSpec: everything a service or a batch scorer needs, as JSON inside the bundle
    predictor.py  Predictor: the model files checked against their sha256, loaded by flavor, predictions
                  and explanations from raw feature values (the one path serving and batch scoring share)
    score.py      score_file: a parquet or CSV file scored in chunks, features given or looked up point in time
    batch_checks.py  the declared checks of the inputs on Arrow chunks (refuse the file or skip rows, counted)
    score_stage.py   the score stage: ScoreBatch planned from a registry alias, applied by ``hydraops score``
"""
