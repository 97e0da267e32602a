"""hydraops: the ML model lifecycle declared in composable Hydra configs.

Compose a project's config and get its typed spec::

    from hydraops import load_spec, build_plan
    spec = load_spec("projects/churn", ["model=logistic_regression"])  # ConfigError on any problem
    plan = build_plan(spec)
"""

from hydraops.config.compose import compose_project, find_conf_dir, load_spec, to_spec
from hydraops.errors import ConfigError, HydraopsError, Problem, ProjectError, TemplateError
from hydraops.plan import Action, Effect, Plan, build_plan

__version__ = "0.1.0"

__all__ = [
    "Action",
    "ConfigError",
    "Effect",
    "HydraopsError",
    "Plan",
    "Problem",
    "ProjectError",
    "TemplateError",
    "__version__",
    "build_plan",
    "compose_project",
    "find_conf_dir",
    "load_spec",
    "to_spec",
]
