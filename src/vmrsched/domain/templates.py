"""Templates for replies and joining instructions: sandboxed Jinja2, Pexip's names and variables.

Each template has an HTML variant (autoescaped: a meeting subject can never inject markup) and a
plain-text variant; when an admin overrides only the HTML, the text is derived from it. Templates
may use only the filters Pexip documents (https://docs.pexip.com/admin/jinja_templates.htm) and
only the variables listed for them in `TEMPLATE_VARIABLES`, so a template written for Pexip works
here, and a typo fails when the configuration is loaded, not when an organizer is waiting.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal, Self

from jinja2 import StrictUndefined, Template, TemplateSyntaxError, meta
from jinja2 import TemplateError as JinjaError
from jinja2.sandbox import ImmutableSandboxedEnvironment, safe_range

from vmrsched.domain.bodies import html_to_text


class TemplateName(StrEnum):
    """Every template, by Pexip's name (without ``_template``) where Pexip has one."""

    ACCEPT_NEW_SINGLE_MEETING = "accept_new_single_meeting"
    ACCEPT_NEW_RECURRING_SERIES = "accept_new_recurring_series"
    ACCEPT_EDITED_SINGLE_MEETING = "accept_edited_single_meeting"
    ACCEPT_EDITED_RECURRING_SERIES = "accept_edited_recurring_series"
    ACCEPT_EDITED_OCCURRENCE = "accept_edited_occurrence"
    REJECT_INVALID_ALIAS_ID = "reject_invalid_alias_id"
    REJECT_ALIAS_DELETED = "reject_alias_deleted"
    REJECT_SINGLE_MEETING_PAST = "reject_single_meeting_past"
    REJECT_RECURRING_SERIES_PAST = "reject_recurring_series_past"
    REJECT_ALIAS_CONFLICT = "reject_alias_conflict"
    REJECT_GENERAL_ERROR = "reject_general_error"
    REJECT_ORGANIZER_NOT_ALLOWED = "reject_organizer_not_allowed"  # ours: Pexip has no such rule
    MEETING_INSTRUCTIONS = "meeting_instructions"
    PLACEHOLDER_INSTRUCTIONS = "placeholder_instructions"


# Every reply may use these; Pexip gives fewer per template, so its templates still validate.
_REPLY = frozenset(
    {
        "subject",
        "organizer_name",
        "organizer_email",
        "start_time",
        "end_time",
        "correlation_id",
        "addin_server_domain",
    }
)
_ACCEPT = _REPLY | {"alias", "numeric_alias", "join_url"}

TEMPLATE_VARIABLES: Mapping[TemplateName, frozenset[str]] = {
    TemplateName.ACCEPT_NEW_SINGLE_MEETING: _ACCEPT,
    TemplateName.ACCEPT_NEW_RECURRING_SERIES: _ACCEPT,
    TemplateName.ACCEPT_EDITED_SINGLE_MEETING: _ACCEPT,
    TemplateName.ACCEPT_EDITED_RECURRING_SERIES: _ACCEPT,
    TemplateName.ACCEPT_EDITED_OCCURRENCE: _ACCEPT,
    TemplateName.REJECT_INVALID_ALIAS_ID: _REPLY,
    TemplateName.REJECT_ALIAS_DELETED: _REPLY,
    TemplateName.REJECT_SINGLE_MEETING_PAST: _REPLY,
    TemplateName.REJECT_RECURRING_SERIES_PAST: _REPLY,
    TemplateName.REJECT_ALIAS_CONFLICT: _REPLY | {"alias"},
    TemplateName.REJECT_GENERAL_ERROR: _REPLY,
    TemplateName.REJECT_ORGANIZER_NOT_ALLOWED: _REPLY,
    TemplateName.MEETING_INSTRUCTIONS: frozenset(
        {"alias", "numeric_alias", "alias_uuid", "alias_token", "join_url", "addin_server_domain"}
    ),
    TemplateName.PLACEHOLDER_INSTRUCTIONS: frozenset({"addin_server_domain"}),
}

# Pexip's list; `range` is a global function in Jinja2 (bounded by the sandbox), not a filter.
ALLOWED_FILTERS = frozenset(
    {
        "abs", "capitalize", "default", "first", "float", "format", "int", "join", "last",
        "length", "lower", "replace", "round", "striptags", "trim", "truncate", "upper",
    }
)  # fmt: skip

Variant = Literal["html", "text"]


@dataclass(frozen=True)
class TemplateSource:
    """A template's sources; ``text=None`` derives the plain text from the rendered HTML."""

    html: str
    text: str | None = None


@dataclass(frozen=True)
class Rendered:
    """A rendered template, in both variants."""

    html: str
    text: str


@dataclass(frozen=True)
class TemplateProblem:
    """Why one template variant cannot be used."""

    name: str
    variant: Variant
    message: str

    def __str__(self) -> str:
        return f"{self.name} ({self.variant}): {self.message}"


class TemplateError(ValueError):
    """One or more templates are unusable; ``problems`` lists them all."""

    def __init__(self, problems: list[TemplateProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(str(problem) for problem in problems))


def _environment(*, autoescape: bool) -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(
        autoescape=autoescape, undefined=StrictUndefined, keep_trailing_newline=False
    )
    env.filters = {name: env.filters[name] for name in ALLOWED_FILTERS}
    env.globals = {"range": safe_range}
    return env


_HTML = _environment(autoescape=True)
_TEXT = _environment(autoescape=False)


def _compile(
    name: TemplateName, variant: Variant, source: str, problems: list[TemplateProblem]
) -> Template | None:
    env = _HTML if variant == "html" else _TEXT
    try:
        unknown = meta.find_undeclared_variables(env.parse(source)) - TEMPLATE_VARIABLES[name]
        template = env.from_string(source)
    except TemplateSyntaxError as exc:
        problems.append(TemplateProblem(name, variant, f"line {exc.lineno}: {exc.message}"))
        return None
    if unknown:
        known = ", ".join(sorted(TEMPLATE_VARIABLES[name]))
        problems.append(
            TemplateProblem(
                name,
                variant,
                f"unknown variable(s) {', '.join(sorted(unknown))}; this template knows: {known}",
            )
        )
        return None
    try:  # a trial run finds what only rendering shows (sandbox refusals, bad filter arguments)
        template.render(dict.fromkeys(TEMPLATE_VARIABLES[name], "sample"))
    except (JinjaError, TypeError, ValueError, ArithmeticError) as exc:
        problems.append(TemplateProblem(name, variant, f"fails when rendered: {exc}"))
        return None
    return template


class TemplateSet:
    """Every template, compiled and checked; build it with `TemplateSet.compile`."""

    def __init__(self, compiled: Mapping[TemplateName, tuple[Template, Template | None]]) -> None:
        self._compiled = dict(compiled)

    @classmethod
    def compile(cls, sources: Mapping[TemplateName, TemplateSource]) -> Self:
        """Compile every template; TemplateError lists every problem at once."""
        problems: list[TemplateProblem] = []
        compiled: dict[TemplateName, tuple[Template, Template | None]] = {}
        for name in TemplateName:
            source = sources.get(name)
            if source is None:
                problems.append(TemplateProblem(name, "html", "no source given"))
                continue
            html = _compile(name, "html", source.html, problems)
            text = None if source.text is None else _compile(name, "text", source.text, problems)
            if html is not None:
                compiled[name] = (html, text)
        if problems:
            raise TemplateError(problems)
        return cls(compiled)

    def render(self, name: TemplateName, values: Mapping[str, str]) -> Rendered:
        """Render both variants; variables the template knows but ``values`` lacks are empty."""
        unknown = set(values) - TEMPLATE_VARIABLES[name]
        if unknown:
            raise ValueError(f"{name} has no variable(s) {', '.join(sorted(unknown))}")
        context = dict.fromkeys(TEMPLATE_VARIABLES[name], "") | dict(values)
        html_template, text_template = self._compiled[name]
        html = html_template.render(context).strip()
        text = html_to_text(html) if text_template is None else text_template.render(context)
        return Rendered(html=html, text=text.strip())
