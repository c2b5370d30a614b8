"""Form fields: how a site declares them, renders them and reads them back.

A field's `key` is what the admin endpoint records — the business snapshot's value name
where there is one (`business_name`, `phone`…) — so tests read every site's submissions the
same way whatever the HTML calls the input.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape

from starlette.datastructures import FormData, UploadFile

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Scheme optional: sites that ask for the bare domain get `website_host`.
_WEBSITE = re.compile(r"^(https?://)?[^\s/.]+(\.[^\s/.]+)+(/\S*)?$", re.IGNORECASE)


@dataclass(frozen=True)
class Field:
    key: str
    label: str
    id: str
    # The HTML name; the key when empty.
    name: str = ""
    # An <input> type, or "textarea" / "select".
    kind: str = "text"
    required: bool = True
    autocomplete: str | None = None
    placeholder: str | None = None
    pattern: str | None = None
    hint: str | None = None
    # (value, label) pairs of a select, the first usually the empty "Choose…".
    options: tuple[tuple[str, str], ...] = ()
    # False on the placeholders-only site: no <label>, the placeholder is the accessible name.
    labelled: bool = True

    @property
    def html_name(self) -> str:
        return self.name or self.key


def _attributes(field: Field) -> str:
    parts = [f'id="{escape(field.id)}"', f'name="{escape(field.html_name)}"']
    if field.required:
        parts.append("required")
    for attribute, value in (
        ("autocomplete", field.autocomplete),
        ("placeholder", field.placeholder),
        ("pattern", field.pattern),
        ("title", field.hint),
    ):
        if value is not None:
            parts.append(f'{attribute}="{escape(value)}"')
    return " ".join(parts)


def render_control(field: Field) -> str:
    if field.kind == "textarea":
        return f"<textarea {_attributes(field)} rows=3></textarea>"
    if field.kind == "select":
        options = "".join(
            f'<option value="{escape(value)}">{escape(label)}</option>'
            for value, label in field.options
        )
        return f"<select {_attributes(field)}>{options}</select>"
    return f'<input type="{escape(field.kind)}" {_attributes(field)}>'


def render_field(field: Field) -> str:
    control = render_control(field)
    if not field.labelled:
        return f'<p class="field">{control}</p>'
    hint = f"<small>{escape(field.hint)}</small>" if field.hint else ""
    label = f'<label for="{escape(field.id)}">{escape(field.label)}</label>'
    return f'<p class="field">{label}{control}{hint}</p>'


def render_fields(fields: Iterable[Field]) -> str:
    return "\n".join(render_field(field) for field in fields)


def text_value(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def text_values(form: FormData, name: str) -> list[str]:
    return [value.strip() for value in form.getlist(name) if isinstance(value, str)]


def digits(text: str) -> str:
    return "".join(character for character in text if character.isdigit())


def _problem(field: Field, value: str) -> str | None:
    if not value:
        return f"{field.label}: this field is required" if field.required else None
    if field.pattern is not None and not re.fullmatch(field.pattern, value):
        return f"{field.label}: {field.hint or 'wrong format'}"
    if field.kind == "email" and not _EMAIL.match(value):
        return f"{field.label}: not an email address"
    if field.kind == "tel" and not 10 <= len(digits(value)) <= 15:
        return f"{field.label}: a phone number has 10 to 15 digits"
    if field.key == "website" and not _WEBSITE.match(value):
        return f"{field.label}: not a web address"
    if field.kind == "select" and value not in {option for option, _ in field.options if option}:
        return f"{field.label}: choose one of the listed options"
    return None


def read_fields(form: FormData, fields: Sequence[Field]) -> tuple[dict[str, str], list[str]]:
    """The submitted values by key, and every problem naming the field's label."""
    values: dict[str, str] = {}
    problems: list[str] = []
    for field in fields:
        value = text_value(form, field.html_name)
        problem = _problem(field, value)
        if problem is not None:
            problems.append(problem)
        elif value:
            values[field.key] = value
    return values, problems


def upload(form: FormData, name: str) -> UploadFile | None:
    """The uploaded file, or None when the browser sent the empty part of an unused input."""
    value = form.get(name)
    if isinstance(value, UploadFile) and (value.filename or value.size):
        return value
    return None
