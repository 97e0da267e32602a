"""``hydraops init NAME [--template churn] [--directory DIR]``."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path


def init_verb(args: Sequence[str]) -> int:
    """Create a new project from a template; prints where it is and what to run next."""
    from hydraops.templates import available_templates, create_project

    parser = argparse.ArgumentParser(prog="hydraops init", description="Create a new project from a template.")
    parser.add_argument("name", help="project name: the MLflow experiment and registered model are named after it")
    parser.add_argument("--template", default="churn", help=f"one of: {', '.join(available_templates())}")
    parser.add_argument("--directory", type=Path, help="where to create it (default: ./NAME)")
    options = parser.parse_args(list(args))
    home = Path(os.environ["HYDRAOPS_HOME"]) if os.environ.get("HYDRAOPS_HOME") else None  # the template repositories' home
    destination = create_project(options.name, options.directory or Path(options.name), options.template, home=home)
    print(f"created project '{options.name}' from template {options.template} in {destination}")
    print(f"next: cd {destination} && python generate_data.py && hydraops validate && hydraops plan")
    return 0
