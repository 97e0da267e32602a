"""Serving: a registered model version and the project's declarations, bundled so nothing at serve time
needs Hydra or the project's ``conf/``.

    spec.py       ServingSpec: everything a service or a batch scorer needs, as JSON inside the bundle
    predictor.py  Predictor: the model files checked against their sha256, loaded by flavor, predictions
                  and explanations from raw feature values (the one path serving and batch scoring share)
    matrix.py     served rows as a LightGBM booster's float64 matrix without pandas (the service's short path)
    service.py    Service: the one generic BentoML service (``bentoml serve hydraops.serving.service:Service``)
    app.py        Serving: the loaded bundle, and the one path every wire format's rows take
    routes.py     the HTTP routes: /predict, /schema, /invocations (MLflow), /v2 (Open Inference Protocol)
    formats.py    MLflow's and the Open Inference Protocol's bodies as rows
    validation.py the request's shape and limits, each row against the declared features and entity keys
    lookup.py     online lookup from the bundle's views, with a status per feature; rows → the model's frame
    defaults.py   the ``missing: default`` policy: declared defaults checked (validate, build) and served
    alias_watch.py  whether the registry alias a bundle serves still points to its version (``/readyz``)
    linear.py     exact additive explanations of linear scikit-learn models
    explaining.py explanations as served: by |contribution|, top_k, the additivity check
    problems.py   refusals as RFC 9457 problem details
    prediction_log.py  the prediction log as monitoring reads it: read_log, read_request, log_schema
    log_writer.py the service's log writer: a bounded queue off the request path, a thread writing batches
    log_stores.py where batches go: parquet files by date, or a PostgreSQL table
    shadow.py     deploy.shadow's version, scored by the log writer beside the served model, only logged
    score.py      score_file: a parquet or CSV file scored in chunks, features given or looked up point in time
    batch_checks.py  the declared checks of the inputs on Arrow chunks (refuse the file or skip rows, counted)
    score_stage.py   the score stage: ScoreBatch planned from a registry alias, applied by ``hydraops score``
"""
