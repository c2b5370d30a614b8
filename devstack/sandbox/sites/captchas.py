"""Sites behind a captcha: an image captcha and the three token widgets (reCAPTCHA v2,
hCaptcha, Turnstile), laid out as the real widgets leave them in the page."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from devstack.sandbox import captcha
from devstack.sandbox.fields import Field, read_fields, render_fields, text_value
from devstack.sandbox.listings import (
    NOT_SUBMITTED,
    accept,
    add_site_pages,
    confirmation_page,
    form_html,
    form_page,
)
from devstack.sandbox.pages import PageError, invalid_page, page
from devstack.sandbox.runtime import SandboxDep

WRONG_ANSWER_TEXT = "The captcha answer was wrong"
CAPTCHA_FAILED_TEXT = "Captcha verification failed"

CAPTCHA_FIELDS = (
    Field("business_name", "Business name", "business-name"),
    Field("address", "Full address", "address", hint="street, city, state, ZIP"),
    Field("phone", "Phone", "phone", kind="tel"),
    Field("website", "Website", "website", kind="url"),
    Field("email", "Email", "email", kind="email"),
    Field("category", "Category", "category"),
    Field("description", "Description", "description", kind="textarea", required=False),
)

router = APIRouter()


def _refused(site: str, message: str) -> HTMLResponse:
    # 200 with the message and no confirmation, as real sites answer a failed captcha.
    body = (
        f'<h1>Not submitted</h1>\n<p class="error captcha" role="alert">{message}. '
        'Please try again.</p>\n<p><a href="submit">Back to the form</a></p>'
    )
    return page(f"{message} — {site}", body)


# --- image-captcha ------------------------------------------------------------------------

add_site_pages(router, "image-captcha")


@router.get("/image-captcha/submit", response_class=HTMLResponse)
async def image_captcha_form() -> HTMLResponse:
    challenge = captcha.new_challenge()
    widget = (
        f'<input type="hidden" name="challenge" value="{challenge}">\n'
        f'<p class="field"><img id="captcha" src="/image-captcha/captcha/{challenge}.png" '
        'alt="Five digits to copy" width="148" height="44"></p>\n'
        '<p class="field"><label for="captcha-answer">Type the digits in the picture</label>'
        '<input id="captcha-answer" name="captcha_answer" inputmode="numeric" '
        'autocomplete="off" required></p>'
    )
    return form_page("image-captcha", form_html(f"{render_fields(CAPTCHA_FIELDS)}\n{widget}"))


@router.get("/image-captcha/captcha/{challenge}.png")
async def image_captcha_png(challenge: str, sandbox: SandboxDep) -> Response:
    if not captcha.CHALLENGE.match(challenge):
        raise PageError(404, "No such captcha")
    image = captcha.captcha_png(sandbox.settings.captcha_secret, challenge)
    return Response(image, media_type="image/png", headers={"Cache-Control": "no-store"})


@router.post("/image-captcha/submit", response_class=HTMLResponse)
async def image_captcha_submit(request: Request, sandbox: SandboxDep) -> HTMLResponse:
    form = await request.form()
    challenge, answer = text_value(form, "challenge"), text_value(form, "captcha_answer")
    if not captcha.answer_is_right(sandbox.settings.captcha_secret, challenge, answer):
        return _refused("image-captcha", WRONG_ANSWER_TEXT)
    values, problems = read_fields(form, CAPTCHA_FIELDS)
    if problems:
        return invalid_page(NOT_SUBMITTED, problems)
    return confirmation_page(request, accept(request, sandbox, "image-captcha", values))


# --- token widgets ------------------------------------------------------------------------


@dataclass(frozen=True)
class TokenWidget:
    site: str
    css_class: str
    sitekey: str
    response_name: str
    # Response fields the real widget renders besides its own (hCaptcha: g-recaptcha-response).
    also: tuple[str, ...] = ()
    # Turnstile keeps its token in a hidden <input>, the others in a hidden <textarea>.
    hidden_input: bool = False

    def html(self) -> str:
        names = (self.response_name, *self.also)
        if self.hidden_input:
            holders = "".join(f'<input type="hidden" name="{name}" id="{name}">' for name in names)
        else:
            holders = "".join(
                f'<textarea name="{name}" id="{name}" style="display: none"></textarea>'
                for name in names
            )
        # The widget calls data-callback once solved; the page only shows it.
        return (
            f'<div class="{self.css_class} captcha-box" data-sitekey="{escape(self.sitekey)}" '
            'data-callback="sandboxCaptchaSolved">\n'
            '<span class="captcha-state">Verify you are human: solved by the captcha service'
            f"</span>\n{holders}\n</div>\n"
            "<script>function sandboxCaptchaSolved(token) {\n"
            "  document.querySelector('.captcha-state').textContent = 'Verified';\n}</script>"
        )


TOKEN_WIDGETS = (
    TokenWidget("recaptcha", "g-recaptcha", "sandbox-recaptcha-key", "g-recaptcha-response"),
    TokenWidget(
        "hcaptcha",
        "h-captcha",
        "sandbox-hcaptcha-key",
        "h-captcha-response",
        also=("g-recaptcha-response",),
    ),
    TokenWidget(
        "turnstile",
        "cf-turnstile",
        "sandbox-turnstile-key",
        "cf-turnstile-response",
        hidden_input=True,
    ),
)


def _add_token_site(widget: TokenWidget) -> None:
    add_site_pages(router, widget.site)

    async def show_form() -> HTMLResponse:
        content = form_html(f"{render_fields(CAPTCHA_FIELDS)}\n{widget.html()}")
        return form_page(widget.site, content)

    async def submit(request: Request, sandbox: SandboxDep) -> HTMLResponse:
        form = await request.form()
        token = text_value(form, widget.response_name)
        if not captcha.token_is_valid(sandbox.settings.captcha_secret, widget.sitekey, token):
            return _refused(widget.site, CAPTCHA_FAILED_TEXT)
        values, problems = read_fields(form, CAPTCHA_FIELDS)
        if problems:
            return invalid_page(NOT_SUBMITTED, problems)
        return confirmation_page(request, accept(request, sandbox, widget.site, values))

    path = f"/{widget.site}/submit"
    router.add_api_route(path, show_form, methods=["GET"], response_class=HTMLResponse)
    router.add_api_route(path, submit, methods=["POST"], response_class=HTMLResponse)


for _widget in TOKEN_WIDGETS:
    _add_token_site(_widget)
