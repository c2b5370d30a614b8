"""The HTML every sandbox site shares: the page layout and error pages.

Pages are plain server-rendered HTML5 so a real browser (and a screen reader) can use them;
the few sites that need JavaScript add their own script.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

_CSS = """
body { font-family: system-ui, sans-serif; margin: 0; background: #f6f7f9; color: #1d2430; }
main { max-width: 42rem; margin: 2rem auto; background: #fff; padding: 1.5rem 2rem;
       border-radius: 8px; box-shadow: 0 1px 3px rgb(0 0 0 / 12%); }
.field { margin: 0 0 0.9rem; display: flex; flex-direction: column; gap: 0.25rem; }
.field input:not([type=checkbox]):not([type=radio]), .field select, .field textarea {
  font: inherit; padding: 0.4rem; border: 1px solid #9aa3b0; border-radius: 4px; }
.choice { display: flex; gap: 0.4rem; align-items: center; margin: 0.2rem 0; }
fieldset { border: 1px solid #d5d9e0; border-radius: 6px; margin: 0 0 1rem; }
button { font: inherit; padding: 0.5rem 1.2rem; border-radius: 4px; border: 0;
         background: #2457a6; color: #fff; cursor: pointer; }
.confirmation { border-left: 4px solid #2e8540; padding: 0.5rem 1rem; background: #eef7ee; }
.verification { border-left: 4px solid #c48a00; padding: 0.5rem 1rem; background: #fff8e5; }
.error { border-left: 4px solid #b3261e; padding: 0.5rem 1rem; background: #fdecea; }
.captcha-box { border: 1px solid #9aa3b0; padding: 0.6rem; border-radius: 4px; width: 18rem; }
table.hours td { padding: 0.2rem 0.5rem; }
"""


def document(title: str, body: str, *, head: str = "") -> str:
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<style>{_CSS}</style>{head}
</head>
<body>
<main>
{body}
</main>
</body>
</html>
"""


def page(
    title: str,
    body: str,
    *,
    status: int = 200,
    head: str = "",
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    return HTMLResponse(document(title, body, head=head), status_code=status, headers=headers)


def error_list(problems: list[str]) -> str:
    items = "".join(f"<li>{escape(problem)}</li>" for problem in problems)
    return f'<div class="error invalid" role="alert"><p>Please correct:</p><ul>{items}</ul></div>'


def invalid_page(title: str, problems: list[str]) -> HTMLResponse:
    # 200 like a real site re-showing its form: the worker sees no confirmation and files the
    # attempt for review instead of guessing.
    body = f'<h1>{escape(title)}</h1>{error_list(problems)}<p><a href="">Back to the form</a></p>'
    return page(title, body)


class PageError(Exception):
    """Answer the request with this status and a small HTML page (see `page_error_response`)."""

    def __init__(
        self, status: int, message: str, *, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})


async def page_error_response(request: Request, error: Exception) -> Response:
    assert isinstance(error, PageError)
    body = f'<h1>{error.status}</h1><p class="error">{escape(error.message)}</p>'
    return page(error.message, body, status=error.status, headers=error.headers)
