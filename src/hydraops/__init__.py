"""hydraops: the ML model lifecycle declared in composable Hydra configs.

From Python, without the command line::

    import hydraops
    spec = hydraops.load_spec("projects/churn", ["model=logistic_regression"])  # ConfigError on any problem
    ctx = hydraops.RunContext.create(spec)
    plan = hydraops.build_plan(spec, ctx)      # what `hydraops apply` would do
    results = hydraops.apply(plan, ctx)        # ... done
"""

from hydraops.api import materialize, promote, run_stages, train
from hydraops.config.compose import compose_project, find_conf_dir, load_spec, to_spec
from hydraops.errors import ConfigError, HydraopsError, Problem, ProjectError, TemplateError
from hydraops.plan import Action, Effect, Outcome, Plan, Result, RunContext, apply, build_plan

__version__ = "0.1.0"

__all__ = [
    "Action",
    "ConfigError",
    "Effect",
    "HydraopsError",
    "Outcome",
    "Plan",
    "Problem",
    "ProjectError",
    "Result",
    "RunContext",
    "TemplateError",
    "__version__",
    "apply",
    "build_plan",
    "compose_project",
    "find_conf_dir",
    "load_spec",
    "materialize",
    "promote",
    "run_stages",
    "to_spec",
    "train",
]
