"""The config reference, generated from the schemas and the config library into ``docs/reference/config.md``.

python -m hydraops.config.reference            # (re)write docs/reference/config.md
python -m hydraops.config.reference --check    # exit 1 if it is out of date
"""

from __future__ import annotations

import argparse
import dataclasses
import enum
import sys
import types
import typing
from pathlib import Path
from typing import Any

from omegaconf import MISSING, OmegaConf

from hydraops._resources import packaged_dir
from hydraops.config.names import MODELS
from hydraops.config.schemas import GROUPS, ProjectSpec

DEFAULT_OUTPUT = Path(__file__).resolve().parents[3] / "docs" / "reference" / "config.md"
REGENERATE = "python -m hydraops.config.reference"
Row = tuple[str, str, str, str]


def _doc(cls: type) -> str:
    """A class's own docstring on one line; empty for none and for the signature dataclasses make up."""
    doc = cls.__dict__.get("__doc__") or ""
    return "" if doc.startswith(f"{cls.__name__}(") else " ".join(doc.split()).replace("``", "`")


def _unwrap(tp: Any) -> tuple[Any, bool]:
    """``Optional[X]`` → ``(X, True)``; anything else → ``(tp, False)``."""
    args = typing.get_args(tp)
    if typing.get_origin(tp) in (typing.Union, types.UnionType) and type(None) in args:
        return next(a for a in args if a is not type(None)), True
    return tp, False


def _type_name(tp: Any) -> str:
    inner, optional = _unwrap(tp)
    if optional:
        return f"{_type_name(inner)} or null"
    if typing.get_origin(tp) in (list, dict):
        return f"{typing.get_origin(tp).__name__}[{', '.join(map(_type_name, typing.get_args(tp)))}]"
    return "any" if tp is Any else getattr(tp, "__name__", str(tp))


def render_type(tp: Any) -> str:
    """The type as it reads in config, and the choices of any enum in it."""
    inner = typing.get_args(_unwrap(tp)[0]) or [_unwrap(tp)[0]]
    enums = [e for e in inner if isinstance(e, type) and issubclass(e, enum.Enum)]
    return f"`{_type_name(tp)}`" + "".join("; one of " + ", ".join(f"`{m.value}`" for m in e) for e in enums)


def _yaml(value: Any) -> str:
    """A value as YAML flow style writes it; interpolations stay as they are."""
    if isinstance(value, enum.Enum):
        return str(value.value)
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    if isinstance(value, list):
        return "[" + ", ".join(map(_yaml, value)) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_yaml(v)}" for k, v in value.items()) + "}"
    return str(value) if value != "" else '""'


def render_default(f: dataclasses.Field) -> str:
    """``???`` for a required value, nothing for a nested dataclass (its fields have rows of their own)."""
    value = f.default if f.default_factory is dataclasses.MISSING else f.default_factory()
    if value is MISSING or value is dataclasses.MISSING:
        return "`???`"
    return "" if dataclasses.is_dataclass(value) else f"`{_yaml(value)}`"


def _nested(tp: Any, key: str) -> tuple[type, str] | None:
    """The dataclass a field holds (itself, optionally, as list or dict values) and its fields' key prefix."""
    tp = _unwrap(tp)[0]
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if dataclasses.is_dataclass(tp):
        return tp, f"{key}."
    if origin is list and dataclasses.is_dataclass(args[0]):
        return args[0], f"{key}[]."
    if origin is dict and dataclasses.is_dataclass(args[1]):
        return args[1], f"{key}.<name>."
    return None


def field_rows(cls: type, prefix: str = "", recurse: bool = True) -> list[Row]:
    """(dotted key, type, default, description) for each field of ``cls`` and of the dataclasses in it."""
    hints, rows = typing.get_type_hints(cls), []
    for f in dataclasses.fields(cls):
        key, tp = prefix + f.name, hints[f.name]
        nested = _nested(tp, key)
        description = _doc(nested[0]) if nested else f.metadata.get("expected", "")
        rows.append((f"`{key}`", render_type(tp), render_default(f), description))
        rows += field_rows(*nested) if nested and recurse else []
    return rows


def _table(rows: list[Row]) -> list[str]:
    cells = ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return ["| key | type | default | description |", "|---|---|---|---|", *cells, ""]


def _options(group: str, default: str | None) -> list[str]:
    """The group's files in the library, each described by its first comment that is not ``# @package``."""
    lines = [f"Options (`{group}=<option>`):", ""]
    for path in sorted((packaged_dir("conf") / group).glob("*.yaml")):
        comments = (ln.lstrip("#").strip() for ln in path.read_text().splitlines() if ln.startswith("#"))
        text = next((c for c in comments if c and not c.startswith("@package")), "")
        mark = " *(default)*" if path.stem == default else ""
        lines.append(f"- `{path.stem}`{mark}: {text}" if text else f"- `{path.stem}`{mark}")
    return [*lines, ""] if len(lines) > 2 else ["Options: none in the library; projects add their own.", ""]


def _online_stores() -> list[str]:
    """A table per online store type, each with the schema that sits beside its backend."""
    from hydraops.features.online import ONLINE_STORES

    out = _options("stack/online_store", None)
    out[0] = "Online stores (`stack/online_store=<type>`; `local` picks `sqlite`, `shared` picks `redis`):"
    for kind, spec in ONLINE_STORES.items():
        out += [f"### `stack/online_store={kind.value}`", "", _doc(spec), ""]
        out += [f"Schema: `{spec.__module__}.{spec.__name__}`", "", *_table(field_rows(spec, "stack.online_store."))]
    return out


def render_reference() -> str:
    """The whole reference, as Markdown: top-level keys, then each group's options and fields."""
    defaults: dict[str, str] = {}
    for entry in OmegaConf.to_container(OmegaConf.load(packaged_dir("conf") / "hydraops.yaml").defaults):
        defaults.update(entry if isinstance(entry, dict) else {})
    defaults = {group: defaults.get(choice[2:-1], choice) if choice.startswith("${") else choice  # evaluate: ${task}
                for group, choice in defaults.items() if isinstance(choice, str)}  # fmt: skip
    top = [r for r in field_rows(ProjectSpec, recurse=False) if r[0].strip("`") not in GROUPS]
    out = [f"<!-- Generated by `{REGENERATE}` from the schemas and conf/: do not edit. -->", "",
           "# Config reference", "", _doc(ProjectSpec), "",
           "Types and defaults come from the schemas in `hydraops.config.schemas`: `???` marks a value "
           "that must be set, `${...}` an interpolation, `<name>` a key you choose, `[]` a list item.", "",
           "## Top-level keys", "", *_table(top)]  # fmt: skip
    hints = typing.get_type_hints(ProjectSpec)
    for group in GROUPS:
        schema, optional = _unwrap(hints[group])
        out += [f"## `{group}`", ""] + ([_doc(schema), ""] if _doc(schema) else [])
        out += ["Optional: absent unless an option of this group is selected.", ""] if optional else []
        out += _options(group, defaults.get(group))
        specs = [(name, entry.spec) for name, entry in MODELS.items()] if group == "model" else [("", schema)]
        for name, spec in specs:  # model: a table per model, each with the fields all models share
            if name:
                out += [f"### `model={name}`", ""] + ([_doc(spec), ""] if _doc(spec) else [])
            out += [f"Schema: `{spec.__name__}`", "", *_table(field_rows(spec, f"{group}."))]
        out += _online_stores() if group == "stack" else []
    return "\n".join(out).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=REGENERATE, description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is out of date")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="docs/reference/config.md")
    args = parser.parse_args(argv)
    text = render_reference()
    if args.check:
        if not args.output.is_file() or args.output.read_text() != text:
            print(f"{args.output} is out of date: run `{REGENERATE}`", file=sys.stderr)
            return 1
        print(f"{args.output} is up to date")
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
