"""The inbox for people: a message list and a message view, server-rendered, no scripts.

Everything from a message is escaped. The HTML part is shown only inside a sandboxed iframe
through `srcdoc` (escaped into the attribute), so its markup, styles and scripts never become
part of the inbox page: the sandbox gives it an opaque origin and no script execution.
"""

from __future__ import annotations

from html import escape

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse

from dbolt.words import count_of
from devstack.mailcatcher.api import MailboxDep
from devstack.mailcatcher.messages import CaughtMessage

router = APIRouter(include_in_schema=False)

# Pages need inline styles only; frames are the srcdoc ones; images only inline data (a
# message's remote images would leak that it was opened, and there is no internet anyway).
_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'self'"
)
# A message's own HTML, served alone: sandboxed (no script, opaque origin; its links may open
# in a new tab), inline styles and data: images only, like the srcdoc frame.
_HTML_PART_CSP = (
    "sandbox allow-popups allow-popups-to-escape-sandbox; default-src 'none'; "
    "style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
)
# One column that reads on a phone (360 px) as on a laptop: long addresses, Message-IDs and
# links wrap, and under 40rem the inbox table turns into one block per message, each value
# labelled (data-label), the column headings kept for screen readers only.
_STYLE = """
body{font-family:system-ui,sans-serif;margin:0;color:#1b1b1b;background:#fafafa}
header,main{max-width:60rem;margin:0 auto;padding:1rem}
header{display:flex;flex-wrap:wrap;gap:1rem;align-items:center;justify-content:space-between}
h1{margin:.25rem 0;overflow-wrap:anywhere}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{text-align:left;padding:.5rem;border-bottom:1px solid #ccc;vertical-align:top;
overflow-wrap:anywhere}
a{color:#0b57d0}
a:focus-visible,button:focus-visible,input:focus-visible{outline:3px solid #1b1b1b;
outline-offset:2px}
button{font-size:1rem;padding:.4rem .9rem}
input{font-size:1rem;max-width:100%;box-sizing:border-box}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#fff;border:1px solid #ccc;
padding:1rem}
iframe{width:100%;min-height:30rem;border:1px solid #ccc;background:#fff;box-sizing:border-box}
dl{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:.25rem 1rem}
dt{font-weight:600}
dd{margin:0;min-width:0;overflow-wrap:anywhere}
li{overflow-wrap:anywhere}
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);
white-space:nowrap}
@media (max-width:40rem){
dl{grid-template-columns:minmax(0,1fr)}
dd{margin-bottom:.5rem}
table.messages thead{position:absolute;width:1px;height:1px;overflow:hidden;
clip:rect(0 0 0 0)}
table.messages tr{display:block;border-bottom:1px solid #ccc;padding:.5rem 0}
table.messages td{display:block;border:0;padding:.1rem .5rem}
table.messages td[data-label]::before{content:attr(data-label) ": ";font-weight:600}
}
"""


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    html = (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)} — Mail catcher</title>\n<style>{_STYLE}</style>\n"
        f"</head>\n<body>\n{body}\n</body>\n</html>\n"
    )
    return HTMLResponse(
        html,
        status_code=status,
        headers={
            "Content-Security-Policy": _CSP,
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
        },
    )


def _when(message: CaughtMessage) -> str:
    stamp = message.received_at
    return f'<time datetime="{stamp.isoformat()}">{stamp:%Y-%m-%d %H:%M:%S} UTC</time>'


@router.get("/", response_class=HTMLResponse)
async def inbox(mailbox: MailboxDep, to: str | None = None) -> HTMLResponse:
    messages = mailbox.newest_first(to or None)
    rows = "".join(
        "<tr>"
        f'<td><a href="/messages/{escape(m.id)}">{escape(m.subject or "(no subject)")}</a></td>'
        f'<td data-label="From">{escape(m.sender or "")}</td>'
        f'<td data-label="To">{escape(", ".join(m.to) or ", ".join(m.rcpt_to))}</td>'
        f'<td data-label="Received">{_when(m)}</td>'
        "</tr>\n"
        for m in messages
    )
    if rows:
        listing = (
            '<table class="messages">\n'
            '<caption class="visually-hidden">Caught messages, newest first</caption>\n'
            '<thead><tr><th scope="col">Subject</th><th scope="col">From</th>'
            '<th scope="col">To</th><th scope="col">Received</th></tr></thead>\n'
            f"<tbody>\n{rows}</tbody>\n</table>"
        )
    else:
        listing = "<p>No messages yet. Anything sent to the SMTP port shows up here.</p>"
    body = (
        "<header>\n<h1>Mail catcher</h1>\n"
        '<form method="post" action="/messages/delete">'
        '<button type="submit">Delete all messages</button></form>\n</header>\n'
        "<main>\n"
        '<form method="get" action="/" role="search">'
        '<label for="to">Recipient</label> '
        f'<input id="to" name="to" type="email" value="{escape(to or "")}"> '
        '<button type="submit">Filter</button> <a href="/">Show all / refresh</a></form>\n'
        f'<p aria-live="polite">{count_of(len(messages), "message")}</p>\n'
        f"{listing}\n</main>"
    )
    return _page("Inbox", body)


@router.get("/messages/{message_id}", response_class=HTMLResponse)
async def view(message_id: str, mailbox: MailboxDep) -> HTMLResponse:
    message = mailbox.get(message_id)
    if message is None:
        return _page(
            "Not found",
            '<main><h1>No such message</h1><p><a href="/">Back to the inbox</a></p></main>',
            404,
        )
    return _page(message.subject or "(no subject)", _message_body(message))


@router.get("/messages/{message_id}/html", response_class=HTMLResponse)
async def html_part(message_id: str, mailbox: MailboxDep) -> HTMLResponse:
    """The HTML part as a page of its own, to see it as a mail app shows it (at a phone's
    width, say). Still never part of the catcher's origin: the CSP sandbox gives it an opaque
    origin and runs no script; it loads nothing from the network."""
    message = mailbox.get(message_id)
    if message is None or message.html is None:
        return _page(
            "Not found",
            '<main><h1>No such HTML part</h1><p><a href="/">Back to the inbox</a></p></main>',
            404,
        )
    return HTMLResponse(
        message.html,
        headers={
            "Content-Security-Policy": _HTML_PART_CSP,
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
        },
    )


@router.post("/messages/delete")
async def delete_all(mailbox: MailboxDep) -> RedirectResponse:
    mailbox.clear()
    return RedirectResponse("/", status_code=303)


# Headers people check when testing mail (threading, one-click unsubscribe), shown if present.
_SHOWN_HEADERS = ("Message-ID", "List-Unsubscribe", "List-Unsubscribe-Post")


def _header(message: CaughtMessage, name: str) -> list[str]:
    return [
        v for key, values in message.headers.items() if key.lower() == name.lower() for v in values
    ]


def _message_body(message: CaughtMessage) -> str:
    fields = [
        ("From", message.sender or ""),
        ("To", ", ".join(message.to)),
        ("Cc", ", ".join(message.cc)),
        ("Envelope recipients", ", ".join(message.rcpt_to)),
        ("Subject", message.subject),
        ("Date", message.date.isoformat() if message.date else "(none)"),
        *((name, ", ".join(_header(message, name))) for name in _SHOWN_HEADERS),
    ]
    details = "".join(
        f"<dt>{escape(name)}</dt><dd>{escape(value)}</dd>" for name, value in fields if value
    )
    links = ""
    if message.links:
        items = "".join(
            f'<li><a href="{escape(link)}" rel="noreferrer">{escape(link)}</a></li>'
            for link in message.links
        )
        links = (
            f'<section aria-labelledby="links"><h2 id="links">Links</h2><ul>{items}</ul></section>'
        )
    text = "<p>(This message has no text part.)</p>"
    if message.text is not None:
        text = f"<pre>{escape(message.text)}</pre>"
    html = "<p>(This message has no HTML part.)</p>"
    if message.html is not None:
        # The escaped markup is an attribute value, so it cannot end the iframe element; the
        # empty-ish sandbox runs no script and gives the frame an opaque origin. Links open in
        # a new tab (the base element) so they never replace the inbox.
        document = '<base target="_blank">' + message.html
        html = (
            '<iframe title="HTML part of the message" '
            'sandbox="allow-popups allow-popups-to-escape-sandbox" referrerpolicy="no-referrer" '
            f'srcdoc="{escape(document, quote=True)}"></iframe>'
            f'<p><a href="/messages/{escape(message.id)}/html">Open the HTML part on its own</a>'
            " (to see it at a phone's width)</p>"
        )
    attachments = ""
    if message.attachments:
        items = "".join(
            f"<li>{escape(a.filename or '(unnamed)')}: {escape(a.content_type)}, "
            f"{a.size} bytes</li>"
            for a in message.attachments
        )
        attachments = (
            '<section aria-labelledby="attachments"><h2 id="attachments">Attachments</h2>'
            f"<ul>{items}</ul></section>"
        )
    return (
        '<header><p><a href="/">← Back to the inbox</a></p></header>\n<main>\n'
        f"<h1>{escape(message.subject or '(no subject)')}</h1>\n<dl>{details}</dl>\n{links}\n"
        f'<section aria-labelledby="text"><h2 id="text">Text part</h2>{text}</section>\n'
        f'<section aria-labelledby="html"><h2 id="html">HTML part</h2>{html}</section>\n'
        f"{attachments}\n"
        f'<p><a href="/api/messages/{escape(message.id)}/raw">View the raw message</a></p>\n'
        "</main>"
    )
