"""Prompt templates, kept as files beside this module (package data: photoseek/prompts/*.md).

`render("planner_system")` renders planner_system.md with jinja2; StrictUndefined makes a missing
variable an error instead of a silently empty hole in a prompt.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any

import jinja2


def _load(name: str) -> tuple[str, None, Any]:
    source = resources.files(__name__).joinpath(name)
    if not source.is_file():
        raise jinja2.TemplateNotFound(name)
    return source.read_text(encoding="utf-8"), None, lambda: True


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FunctionLoader(_load),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=False,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )


def template_names() -> list[str]:
    return sorted(p.name[:-3] for p in resources.files(__name__).iterdir() if p.name.endswith(".md"))


def render(name: str, **variables: Any) -> str:
    """The prompt `name` (with or without ".md") rendered with `variables`, stripped of outer whitespace."""
    filename = name if name.endswith(".md") else f"{name}.md"
    return _environment().get_template(filename).render(**variables).strip()
