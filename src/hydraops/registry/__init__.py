"""Model registry: promotion gates decided by pure functions (``gates``), carried out as MLflow alias moves."""
