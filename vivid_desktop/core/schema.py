"""Versions of ``project.json``: every file carries ``"schema": "Project.N"``; old files are upgraded one
step at a time, files from a newer version are refused (never rewritten).

Usage::

    data = upgrade(json.loads(text))          # a dict in the current SCHEMA, or ProjectError
    UPGRADERS["Project.1"] = one_to_two        # when Project.2 exists: a pure dict → dict function

Each upgrader turns a Project.N dict into a Project.N+1 dict and sets its ``schema``; keep every old one,
and add a golden file of the old format under ``tests/core/golden/`` with it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from vivid_desktop.core.project import SCHEMA, ProjectError

#: Step-wise upgraders: ``UPGRADERS["Project.N"]`` turns a Project.N dict into a Project.N+1 dict.
#: Project.1 is the first released format, so there is nothing to upgrade yet.
UPGRADERS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {}


def _schema_number(schema: object) -> int:
    if not isinstance(schema, str) or not schema.startswith("Project.") or not schema[8:].isdigit():
        raise ProjectError(f"this is not a VIVID project file (schema {schema!r})")
    return int(schema[8:])


def upgrade(data: dict[str, Any]) -> dict[str, Any]:
    """Bring a project dict up to ``SCHEMA`` one step at a time; refuse files from a newer version."""
    current = _schema_number(SCHEMA)
    number = _schema_number(data.get("schema"))
    if number > current:
        by = data.get("written_by") or "a newer version of VIVID Desktop"
        raise ProjectError(
            f"this project was saved by {by} (format {data['schema']}); this version reads up to {SCHEMA}. "
            "Update VIVID Desktop to open it — the project was left untouched."
        )
    while number < current:
        step = UPGRADERS.get(f"Project.{number}")
        if step is None:
            raise ProjectError(f"projects in format Project.{number} can no longer be opened")
        data = step(dict(data))
        number += 1
        if _schema_number(data.get("schema")) != number:
            raise ProjectError(f"the upgrader from Project.{number - 1} did not produce Project.{number}")
    return data
