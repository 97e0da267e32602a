"""Model monitoring: reference profiles logged at train time, current data judged against them.

``profile``     the reference profile of a model version (``reference_profile.json`` of its training run)
``sketch``      current values counted on a profile's bins or categories, chunk by chunk
``drift``       per-column drift (normed Wasserstein, Jensen-Shannon, PSI, KS, chi-square) and dataset drift
``thresholds``  which method and threshold applies to a column, and which config level set it
``quality``     data quality: null share, values outside the declared checks, unseen categories, type changes,
                missing and extra columns
``performance`` the metric of the served predictions per time chunk, once labels arrive, against the test metric
``check``       current data judged against a profile: drift, quality, violations, violations.json
``report_html`` the self-contained HTML report (``plots``: its inline SVG)
``run``         the MLflow run of each monitoring, in experiment ``<project>-monitoring``
``stage``       the monitor stage of a plan (``hydraops monitor``)
"""
