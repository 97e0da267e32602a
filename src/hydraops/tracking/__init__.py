"""Experiment tracking on MLflow: runs that always end in a final state, with the full lineage of each."""
