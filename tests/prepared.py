"""A churn project prepared once (generated data, every feature view materialized) and handed to each test
as its own copy, so tests that do not exercise materialization do not pay for it again."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import generated_churn


@dataclass(frozen=True)
class Prepared:
    """``project`` is where each test gets it; ``pristine`` is the untouched copy it is restored from."""

    project: Path
    pristine: Path

    @classmethod
    def build(cls, root: Path, customers: int) -> Prepared:
        from hydraops import load_spec
        from hydraops.features import FeatureRepo, materialize

        project = generated_churn(root / "churn", customers)
        materialize(FeatureRepo.from_spec(load_spec(project)))
        return cls(project, Path(shutil.copytree(project, root / "pristine")))

    def restore(self, link: Path | None = None) -> Path:
        """A fresh copy at the SAME path every time: a view's version digests its source files' paths, so a
        copy anywhere else would be materialized again. With ``link``, returned as a symlink there to that
        path: a hydraops process started in it works in the real path (the working directory is resolved),
        while this process's MLflow clients see a store URI of their own (MLflow keeps one engine per URI,
        and the previous test's would still read its deleted mlflow.db)."""
        shutil.rmtree(self.project, ignore_errors=True)
        project = Path(shutil.copytree(self.pristine, self.project))
        if link is None:
            return project
        link.symlink_to(project, target_is_directory=True)
        return link
