"""Templates: sandboxed, escaped, Pexip-compatible, checked before use; instructions carry the token."""

from __future__ import annotations

import re

import pytest
from domain_builders import KEY, Builders

from vmrsched.config import compile_templates
from vmrsched.domain.bodies import html_to_text
from vmrsched.domain.instructions import (
    join_url,
    join_url_problem,
    render_instructions,
    render_placeholder,
)
from vmrsched.domain.templates import (
    TEMPLATE_VARIABLES,
    TemplateError,
    TemplateName,
    TemplateSet,
    TemplateSource,
)
from vmrsched.domain.tokens import TokenKind, TokenStatus, classify, read_token


def _sources(**overrides: TemplateSource) -> dict[TemplateName, TemplateSource]:
    sources = {name: TemplateSource("<p>{{ subject }}</p>") for name in TemplateName}
    sources[TemplateName.MEETING_INSTRUCTIONS] = TemplateSource("<p>{{ alias }}</p>")
    sources[TemplateName.PLACEHOLDER_INSTRUCTIONS] = TemplateSource("<p>later</p>")
    sources.update({TemplateName(name): source for name, source in overrides.items()})
    return sources


def test_every_default_template_renders_both_variants() -> None:
    """The shipped defaults compile and render HTML and plain text for every template."""
    templates = compile_templates({})
    for name in TemplateName:
        rendered = templates.render(name, dict.fromkeys(TEMPLATE_VARIABLES[name], "x"))
        assert rendered.html.strip()
        assert rendered.text.strip()
        assert "<p>" not in rendered.text


def test_html_variables_are_escaped_and_text_variables_are_not() -> None:
    """A subject cannot inject markup into the HTML reply; the text reply shows it as typed."""
    templates = compile_templates({})
    rendered = templates.render(
        TemplateName.REJECT_SINGLE_MEETING_PAST, {"subject": "<script>x</script> & co"}
    )
    assert "<script>" not in rendered.html
    assert "&lt;script&gt;" in rendered.html
    assert "<script>x</script> & co" in rendered.text


def test_a_pexip_style_template_is_accepted() -> None:
    """A template written for Pexip, with its variables and filters, validates and renders."""
    pexip = TemplateSource(
        "<p>Your VMR: {{ alias|upper }}{% if numeric_alias %} ({{ numeric_alias }}){% endif %}</p>"
        "{% for i in range(2) %}.{% endfor %}{{ start_time|default('soon')|truncate(20) }}"
    )
    templates = TemplateSet.compile(_sources(accept_new_single_meeting=pexip))
    rendered = templates.render(
        TemplateName.ACCEPT_NEW_SINGLE_MEETING, {"alias": "81x@vmr", "numeric_alias": "81"}
    )
    assert "81X@VMR (81)" in rendered.html
    assert rendered.text.startswith("Your VMR: 81X@VMR (81)")


def test_every_bad_template_is_reported_at_once_with_its_name() -> None:
    """Unknown variables, disallowed filters and syntax errors are all listed by template name."""
    with pytest.raises(TemplateError) as caught:
        TemplateSet.compile(
            _sources(
                accept_new_single_meeting=TemplateSource("{{ pin }}"),
                reject_alias_deleted=TemplateSource("{{ subject|safe }}"),
                reject_general_error=TemplateSource("ok", text="{% if %}"),
            )
        )
    problems = {(p.name, p.variant): p.message for p in caught.value.problems}
    assert "unknown variable(s) pin" in problems[("accept_new_single_meeting", "html")]
    assert "safe" in problems[("reject_alias_deleted", "html")]
    assert "line 1" in problems[("reject_general_error", "text")]
    assert len(problems) == 3


def test_the_sandbox_refuses_python_internals() -> None:
    """A template reaching for Python internals fails when checked, not when an organizer waits."""
    with pytest.raises(TemplateError, match="fails when rendered"):
        TemplateSet.compile(
            _sources(reject_alias_deleted=TemplateSource("{{ subject.__class__.__mro__ }}"))
        )


def test_a_missing_template_is_an_error() -> None:
    """Every template must have a source."""
    sources = _sources()
    del sources[TemplateName.REJECT_ALIAS_CONFLICT]
    with pytest.raises(TemplateError, match="reject_alias_conflict"):
        TemplateSet.compile(sources)


def test_rendering_refuses_variables_the_template_does_not_have() -> None:
    """Passing an unknown variable is a programming error, caught loudly."""
    templates = TemplateSet.compile(_sources())
    with pytest.raises(ValueError, match="pin"):
        templates.render(TemplateName.REJECT_ALIAS_DELETED, {"pin": "1234"})


def test_instructions_put_the_link_on_its_own_line_and_carry_the_token(build: Builders) -> None:
    """The join block has the meeting link alone on a line, the alias, and a valid token."""
    reservation = build.reservation()
    rendered = render_instructions(
        compile_templates({}),
        reservation,
        KEY,
        join_url_format="https://meet.contoso.com/webapp/m/{alias}",
        addin_server_domain="vmrsched.contoso.com",
    )
    link = f"https://meet.contoso.com/webapp/m/{reservation.alias}"
    assert link in rendered.text.splitlines()
    assert re.search(
        f'<p style="[^"]*"><a href="{re.escape(link)}">{re.escape(link)}</a></p>', rendered.html
    )
    for body in (rendered.text, html_to_text(rendered.html)):
        reading = read_token(body)
        assert reading.token_id == reservation.token_id
        assert classify(reading, KEY, reservation.alias) is TokenStatus.VALID


def test_instructions_get_the_token_even_if_the_template_forgets_it(build: Builders) -> None:
    """An admin template without `alias_token` still produces instructions with the token."""
    templates = TemplateSet.compile(_sources())
    reservation = build.reservation()
    rendered = render_instructions(
        templates, reservation, KEY, join_url_format="", addin_server_domain=""
    )
    assert read_token(rendered.text).kind is TokenKind.SIGNED
    assert read_token(html_body=rendered.html).token_id == reservation.token_id


def test_placeholder_text_renders() -> None:
    """The placeholder text (which the add-in completes with its own token) renders."""
    rendered = render_placeholder(compile_templates({}), addin_server_domain="x.example.com")
    assert "follow" in rendered.text


def test_join_url_formats() -> None:
    """The join URL takes {alias} and {numeric_alias}, URL-quoted; other fields are refused."""
    assert join_url("https://m.example.com/{numeric_alias}?a={alias}", "81 1@x.com", "811") == (
        "https://m.example.com/811?a=81%201@x.com"
    )
    assert join_url("", "a", "1") == ""
    assert join_url_problem("https://m.example.com/{alias}") is None
    assert join_url_problem("https://m.example.com/{pin}") is not None
    assert join_url_problem("ftp://m.example.com/{alias}") is not None
    assert join_url_problem("https://m.example.com/{alias") is not None


def test_html_to_text_keeps_blocks_and_links_readable() -> None:
    """Blocks become lines, scripts vanish, and a link's address survives."""
    text = html_to_text(
        "<html><head><style>p{}</style></head><body><p>Hello&nbsp;<b>you</b></p>"
        "<div>Join <a href='https://x.example.com/j'>here</a></div><script>bad()</script>"
        "<ul><li>one</li><li>two</li></ul></body></html>"
    )
    assert text.splitlines() == [
        "Hello you",
        "",
        "Join here <https://x.example.com/j>",
        "",
        "one",
        "",
        "two",
    ]
