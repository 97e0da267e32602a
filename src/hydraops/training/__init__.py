"""Training: cut the training table into train/valid/test, build estimators from typed model specs."""
