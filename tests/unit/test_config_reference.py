"""The generated config reference: committed and current, and covering every group, model and choice."""

from __future__ import annotations

import dataclasses
import enum
from pathlib import Path

import pytest

from hydraops._resources import packaged_dir
from hydraops.config import schemas
from hydraops.config.names import MODELS
from hydraops.config.reference import DEFAULT_OUTPUT, main, render_reference
from hydraops.config.schemas import GROUPS, ProjectSpec

REPO = Path(__file__).resolve().parents[2]
COMMITTED = REPO / "docs" / "reference" / "config.md"


@pytest.fixture(scope="module")
def reference() -> str:
    return render_reference()


def test_the_committed_reference_is_current(reference: str) -> None:
    assert DEFAULT_OUTPUT == COMMITTED
    assert COMMITTED.is_file(), "docs/reference/config.md is missing: run `python -m hydraops.config.reference`"
    assert COMMITTED.read_text() == reference, (
        "docs/reference/config.md is out of date with the schemas or conf/: run `python -m hydraops.config.reference` and commit the result"
    )


def test_every_group_of_the_root_schema_has_a_section(reference: str) -> None:
    fields = {f.name for f in dataclasses.fields(ProjectSpec)}
    assert set(GROUPS) <= fields
    for group in GROUPS:
        assert f"\n## `{group}`\n" in reference
    for key in fields - set(GROUPS):
        assert f"| `{key}` |" in reference


def test_every_model_and_every_library_option_is_listed(reference: str) -> None:
    for name, entry in MODELS.items():
        assert f"\n### `model={name}`\n" in reference
        assert f"Schema: `{entry.spec.__name__}`" in reference
        for field in dataclasses.fields(entry.spec):
            assert f"| `model.{field.name}` |" in reference
    for group in GROUPS:
        for path in (packaged_dir("conf") / group).glob("*.yaml"):
            assert f"- `{path.stem}`" in reference


def test_every_enum_lists_its_choices(reference: str) -> None:
    enums = [obj for obj in vars(schemas).values() if isinstance(obj, type) and issubclass(obj, enum.Enum)]
    assert len(enums) > 10
    for choices in enums:
        assert "one of " + ", ".join(f"`{member.value}`" for member in choices) in reference, choices.__name__


def test_nested_keys_defaults_and_interpolations(reference: str) -> None:
    assert "| `data.sources.<name>.columns.<name>.dtype` |" in reference
    assert "| `registry.gates[].type` |" in reference
    assert "| `features.labels.target` | `str` | `???` |" in reference
    assert "| `split.seed` | `int` | `${seed}` |" in reference
    assert "| `stack.registry_uri` | `str or null` | `null` |" in reference
    assert "| `registry.aliases` | `list[str]` | `[champion, challenger, previous]` |" in reference
    assert "- `lightgbm` *(default)*: LightGBM" in reference
    # a `# @package _global_` line is a directive, not a description
    assert "@package" not in reference


def test_check_flags_a_stale_file_and_passes_a_fresh_one(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    output = tmp_path / "config.md"
    assert main(["--check", "--output", str(output)]) == 1
    assert "python -m hydraops.config.reference" in capsys.readouterr().err
    assert main(["--output", str(output)]) == 0
    assert main(["--check", "--output", str(output)]) == 0
    output.write_text(output.read_text() + "edited\n")
    assert main(["--check", "--output", str(output)]) == 1
