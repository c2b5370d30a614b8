"""Runs a recipe (docs/recipes.md) on a page and classifies what the site answered."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

from playwright.async_api import Frame, Page, Response

from dbolt.business import Business
from dbolt.contracts import Outcome
from dbolt.refusals import (
    CATEGORY_UNMATCHED,
    FIELD_REJECTED,
    MISSING_BUSINESS_FIELD,
    field_message,
)
from worker import pages
from worker.automap import guess_field
from worker.business import BusinessValueError, attribute_value, field_value, resolve
from worker.captcha import CaptchaSolver, CaptchaUnsolved
from worker.categories import match_category
from worker.customer_action import as_sentences, kind_of, staff_note
from worker.logo import LogoSource, LogoUnavailable
from worker.outcome import AttemptFailed, AttemptResult, classify_text, permanent, transient
from worker.recipe import (
    ACCOUNT_VALUES,
    SECRET_VALUES,
    Captcha,
    Check,
    Click,
    Expect,
    Fill,
    Goto,
    PhaseSteps,
    Recipe,
    Select,
    Submit,
    Upload,
    WaitFor,
)

log = logging.getLogger(__name__)

SITEKEY_SELECTORS = {
    "recaptcha_v2": ".g-recaptcha[data-sitekey]",
    "hcaptcha": ".h-captcha[data-sitekey]",
    "turnstile": ".cf-turnstile[data-sitekey]",
}
# Where each widget keeps its answer, as the widget itself would fill it.
TOKEN_FIELDS = {
    "recaptcha_v2": ["textarea[name=g-recaptcha-response]"],
    "hcaptcha": ["textarea[name=h-captcha-response]", "textarea[name=g-recaptcha-response]"],
    "turnstile": ["input[name=cf-turnstile-response]"],
}
_FILL_WIDGET_ANSWER = """
([selectors, token, widgetSelector]) => {
  for (const selector of selectors) {
    for (const field of document.querySelectorAll(selector)) { field.value = token; }
  }
  const widget = document.querySelector(widgetSelector);
  const callback = widget && widget.getAttribute('data-callback');
  if (callback && typeof window[callback] === 'function') { window[callback](token); }
}
"""


@dataclass
class RecipeContext:
    page: Page
    business: Business
    directory: dict[str, Any]
    solver: CaptchaSolver | None
    step_timeout_ms: int
    result: AttemptResult
    say: Callable[[str], None]
    logos: LogoSource | None = None
    # The `submitting` fence (JobRunner): awaited right before the click that sends the form;
    # it raises when the orchestrator did not record it. None outside a job (submit CLI).
    fence: Callable[[], Awaitable[None]] | None = None
    # Set by the phase runner (worker/phases.py): the directory account's login and password,
    # the emailed code (ACCOUNT_VALUES) and URLs a goto may name (`{listing_url}`).
    values: dict[str, str] = field(default_factory=dict)
    # The number of the step being run: the canary names the step that failed (worker/canary).
    step: int = 0
    # Called with each `goto`'s response once its page (or frame) is the target: the canary
    # reads the page's form signature there, before anything is filled.
    on_page: Callable[[Response | None], Awaitable[None]] | None = None


async def fence_submit(ctx: RecipeContext) -> None:
    """Record, through the orchestrator, that the final submit is about to be sent; if that
    is refused or cannot be recorded, end the attempt WITHOUT submitting: a submit sent
    without its fence could be sent again after a lost lease (a second listing)."""
    if ctx.fence is None:
        return
    try:
        await ctx.fence()
    except Exception as error:
        # Any failure (refused, unreachable, a bug) means the same thing: do not click.
        raise transient(
            "not_submitted", f"the form was not sent: the submit could not be fenced ({error})"
        ) from None


def _value(ctx: RecipeContext, step: Fill | Select, index: int) -> str:
    if step.value in ACCOUNT_VALUES:
        if step.value not in ctx.values:
            raise permanent("recipe_invalid", f"step {index}: no {step.value} in this phase")
        return ctx.values[step.value]
    try:
        return resolve(ctx.business, step.value, step.literal, step.transform)
    except BusinessValueError as error:
        raise permanent(
            MISSING_BUSINESS_FIELD, field_message(step.value, f"step {index}: {error}")
        ) from error


async def _frame(ctx: RecipeContext, selector: str) -> Frame:
    element = await pages.require(ctx.page, selector, "recipe frame", ctx.step_timeout_ms)
    handle = await element.element_handle()
    frame = await handle.content_frame() if handle else None
    if frame is None:
        raise permanent("recipe_drift", f"{selector!r} is not a frame")
    await frame.wait_for_load_state("domcontentloaded")
    return frame


async def _captcha(ctx: RecipeContext, target: pages.Target, step: Captcha, index: int) -> None:
    if ctx.solver is None:
        raise transient("captcha_unsolved", "no captcha solver is configured (TWOCAPTCHA_API_KEY)")
    ctx.result.captcha_kind = step.kind
    ctx.result.captcha_solved = False
    try:
        if step.kind == "image":
            assert step.image is not None
            assert step.input is not None
            image = await pages.require(
                target, step.image, f"step {index} (captcha image)", ctx.step_timeout_ms
            )
            src = await image.get_attribute("src")
            if not src:
                raise permanent("recipe_drift", f"step {index}: the captcha image has no src")
            # The image's own bytes (not a screenshot): same challenge, same cookies.
            response = await ctx.page.context.request.get(urljoin(target.url, src))
            answer = await ctx.solver.solve_image(await response.body())
            field = await pages.require(
                target, step.input, f"step {index} (captcha input)", ctx.step_timeout_ms
            )
            await field.fill(answer)
        else:
            selector = step.sitekey_selector or SITEKEY_SELECTORS[step.kind]
            widget = await pages.require(
                target, selector, f"step {index} (captcha widget)", ctx.step_timeout_ms
            )
            sitekey = await widget.get_attribute("data-sitekey")
            if not sitekey:
                raise permanent(
                    "recipe_drift", f"step {index}: the captcha widget has no data-sitekey"
                )
            token = await ctx.solver.solve_token(step.kind, target.url, sitekey)
            await target.evaluate(_FILL_WIDGET_ANSWER, [TOKEN_FIELDS[step.kind], token, selector])
    except CaptchaUnsolved as error:
        raise transient("captcha_unsolved", str(error)) from error
    ctx.result.captcha_solved = True
    ctx.say(f"  captcha ({step.kind}) solved")


async def _expect(ctx: RecipeContext, target: pages.Target, step: Expect) -> None:
    result = ctx.result
    if duplicate := await pages.present(target, step.duplicate):
        said = as_sentences(await duplicate.inner_text())
        raise permanent("duplicate_listing", said[:500])
    if verification := await pages.present(target, step.verification):
        # The site's words go to staff; the engine gives the customer ours for their kind.
        asked = as_sentences(await verification.inner_text())
        result.outcome, result.action_kind = Outcome.needs_action, kind_of(asked)
        result.message = staff_note(asked)
        return
    if await pages.present(target, step.success):
        result.outcome, result.confirmed = Outcome.success, True
        if listing := await pages.present(target, step.listing_url):
            result.listing_url = await pages.absolute_href(target, listing)
        return
    await classify_page(
        target, result, allow_confirmed=step.success is None, rejected=step.rejected
    )


async def classify_page(
    target: pages.Target,
    result: AttemptResult,
    allow_confirmed: bool = True,
    rejected: str | None = None,
) -> None:
    verdict = classify_text(await pages.visible_text(target))
    if isinstance(verdict, AttemptFailed):
        # A duplicate, a wrong captcha answer or a rate limit says more than a field error.
        raise verdict
    if not verdict.confirmed:
        await refuse_field_errors(target, rejected)
    if verdict.confirmed and not allow_confirmed:
        # The recipe names the confirmation; kind words elsewhere are not proof.
        verdict.confirmed, verdict.message = False, "the recipe's confirmation was not on the page"
    result.outcome, result.confirmed = verdict.outcome, verdict.confirmed
    result.action_required, result.message = verdict.action_required, verdict.message
    result.action_kind = verdict.action_kind


async def run_recipe(
    ctx: RecipeContext, recipe: Recipe | PhaseSteps, classify: bool = True
) -> None:
    """Run the steps; `classify`: read the final page as the directory's answer (a phase
    that only leads to the next one, like a login, is not an answer)."""
    target: pages.Target = ctx.page
    expected = False
    for number, step in enumerate(recipe.steps or [], start=1):
        ctx.step = number
        what = f"step {number} ({step.action})"
        timeout = ctx.step_timeout_ms
        if isinstance(step, Goto):
            urls = {
                "submit_url": ctx.directory.get("submit_url") or ctx.directory["homepage"],
                "homepage": ctx.directory["homepage"],
                **{k: v for k, v in ctx.values.items() if k.endswith("_url")},
            }
            try:
                url = step.url.format_map(urls)
            except KeyError as missing:
                raise permanent("recipe_invalid", f"{what}: no {missing} URL here") from None
            ctx.say(f"  goto {url}")
            response = await pages.goto(ctx.page, url)
            target = await _frame(ctx, recipe.frame) if recipe.frame else ctx.page
            if ctx.on_page is not None:
                await ctx.on_page(response)
        elif isinstance(step, Fill | Select):
            element = await _optional_require(target, step.selector, what, timeout, step.optional)
            if element is None:
                continue
            if step.optional and step.value and not field_value(ctx.business, step.value):
                continue  # an optional field the business left empty
            text = _value(ctx, step, number)
            if step.value in SECRET_VALUES:
                # Never said, logged or kept: typed only into a field that hides it.
                await _fill_secret(element, text, what)
                ctx.say(f"  {step.action} {step.selector} = (the account's password)")
                continue
            if isinstance(step, Fill):
                await element.fill(text)
            else:
                text = await _select(ctx, element, step, text, what)
            ctx.result.filled.append((step.selector, text))
            ctx.say(f"  {step.action} {step.selector} = {text!r}")
        elif isinstance(step, Check):
            element = await _optional_require(target, step.selector, what, timeout, step.optional)
            if element is None:
                continue
            wanted = _checked(ctx, step)
            if wanted is None or (not wanted and await _is_radio(element)):
                # Not stated by the customer (or a radio, which cannot be unticked): left
                # as the site has it.
                ctx.say(f"  leave {step.selector} (the business did not say)")
                continue
            await element.set_checked(wanted)
            if step.attribute is not None:
                ctx.result.filled.append((step.selector, str(wanted).lower()))
            ctx.say(f"  {'check' if wanted else 'uncheck'} {step.selector}")
        elif isinstance(step, Upload):
            await _upload(ctx, target, step, what)
        elif isinstance(step, Click):
            element = await _optional_require(target, step.selector, what, timeout, step.optional)
            if element is not None:
                await element.click()
                ctx.say(f"  click {step.selector}")
        elif isinstance(step, WaitFor):
            await target.locator(step.selector).first.wait_for(
                state="visible", timeout=step.timeout_ms or timeout
            )
        elif isinstance(step, Captcha):
            await _captcha(ctx, target, step, number)
        elif isinstance(step, Submit):
            element = await pages.require(target, step.selector, what, timeout)
            # A form the browser itself refuses is never sent: no fence needed for it.
            await refuse_invalid_form(element)
            await fence_submit(ctx)
            ctx.say(f"  submit {step.selector}")
            async with target.expect_navigation(wait_until="domcontentloaded") as navigation:
                await element.click()
            pages.check_response(await navigation.value, target.url)
        elif isinstance(step, Expect):
            await _expect(ctx, target, step)
            expected = True
    if classify and not expected:
        await classify_page(target, ctx.result)


async def _fill_secret(element: Any, secret: str, what: str) -> None:
    """Type the account's password, only into an <input type=password>: a recipe whose
    selector drifted onto a visible field would otherwise show it on the page (and in the
    screenshot kept for staff)."""
    kind = await element.evaluate("el => (el.type || '').toLowerCase()")
    if kind != "password":
        raise permanent(
            "recipe_drift", f"{what}: the account's password goes only into a password field"
        )
    await element.fill(secret)


async def _optional_require(
    target: pages.Target, selector: str, what: str, wait_ms: int, optional: bool
) -> Any:
    if optional:
        return await pages.present(target, selector)
    return await pages.require(target, selector, what, wait_ms)


def _checked(ctx: RecipeContext, step: Check) -> bool | None:
    """Whether to tick the box: from the business only (None: it did not say)."""
    if step.consent:
        return True
    if step.attribute is not None:
        return attribute_value(ctx.business, step.attribute)
    text = resolve(ctx.business, step.value, None, step.transform)
    return text.strip().lower() in ("true", "yes", "1", "on")


async def _is_radio(element: Any) -> bool:
    kind: str = await element.evaluate("el => (el.type || '').toLowerCase()")
    return kind == "radio"


async def _select(ctx: RecipeContext, element: Any, step: Select, text: str, what: str) -> str:
    """Select the option for `text`, and say which. The category goes through the
    directory's category_map, or else the matcher; no confident match is a failure."""
    options: list[dict[str, str]] = await element.evaluate(
        "el => Array.from(el.options).map(o => ({value: o.value, label: o.text.trim()}))"
    )
    category = step.value == "category" and step.literal is None and step.transform is None
    category_map = ctx.directory.get("category_map") or {}
    if category and category_map:
        text = str(category_map.get(text, text))
    for option in options:
        if text.lower() in (option["value"].lower(), option["label"].lower()):
            await element.select_option(value=option["value"])
            return option["label"] or option["value"]
    if category:
        found = match_category(text, [(o["value"], o["label"]) for o in options])
        if found is None:
            raise permanent(
                CATEGORY_UNMATCHED,
                field_message("category", f"{what}: no option of the site's fits {text!r}"),
            )
        await element.select_option(value=found.value)
        return found.label or found.value
    raise permanent("recipe_drift", f"{what}: no option matches {text!r}")


# The labels (with why) of the form's fields the browser would refuse to submit.
_INVALID_FIELDS = """
(button) => {
  const form = button.closest('form');
  if (!form) return [];
  const labelOf = (el) => (el.labels && el.labels[0] && el.labels[0].innerText)
    || (el.closest('fieldset') && el.closest('fieldset').querySelector('legend')
        && el.closest('fieldset').querySelector('legend').innerText)
    || el.getAttribute('aria-label') || el.placeholder || el.name || el.id || el.type;
  const seen = new Set();
  return Array.from(form.elements).filter(el => el.willValidate && !el.checkValidity())
    .map(el => ({label: labelOf(el).trim(), missing: el.validity.valueMissing}))
    .filter(item => !seen.has(item.label) && seen.add(item.label));
}
"""


async def refuse_invalid_form(button: Any) -> None:
    """Fail now, naming the fields, when the browser itself would refuse to submit: the
    click would go nowhere and the attempt would only time out."""
    invalid: list[dict[str, Any]] = await button.evaluate(_INVALID_FIELDS)
    if not invalid:
        return
    names = ", ".join(repr(item["label"]) for item in invalid)
    first = guess_field(str(invalid[0]["label"]))
    if all(item["missing"] for item in invalid):
        raise permanent(
            MISSING_BUSINESS_FIELD,
            field_message(first, f"the site requires fields we could not fill: {names}"),
        )
    raise permanent(
        FIELD_REJECTED, field_message(first, f"the form refuses the values of: {names}")
    )


async def refuse_field_errors(target: pages.Target, selector: str | None = None) -> None:
    """A page that shows field errors after the submit refused a value: a permanent failure
    naming the field, never a timeout or a retry (the same value would be refused again)."""
    errors = await pages.field_errors(target, selector)
    if errors:
        raise permanent(
            FIELD_REJECTED,
            field_message(guess_field(errors[0]), "the site refused: " + "; ".join(errors)[:900]),
        )


async def _upload(ctx: RecipeContext, target: pages.Target, step: Upload, what: str) -> None:
    """Attach the customer's logo, fetched from the portal by its id (worker/logo.py).

    The recipe calls it `logo_url` (docs/recipes.md); the snapshot carries only `logo_id`.
    A logo the portal cannot give as a small image is left out of an optional upload (the
    listing is worth more than the picture) and fails a required one as upload_unavailable."""
    if step.value != "logo_url":
        raise permanent("recipe_invalid", f"{what}: only logo_url can be uploaded")
    logo_id = ctx.business.logo_id
    element = await _optional_require(
        target, step.selector, what, ctx.step_timeout_ms, step.optional
    )
    if element is None or not logo_id:
        if not step.optional and not logo_id:
            raise permanent("missing_business_field", f"{what}: the business has no logo")
        return
    try:
        if ctx.logos is None:
            raise LogoUnavailable("no PORTAL_URL to fetch logos from")
        logo = await ctx.logos.fetch(str(logo_id))
    except LogoUnavailable as error:
        if step.optional:
            ctx.say(f"  upload {step.selector} skipped: {error}")
            log.warning(
                "logo left out", extra={"action": "attempt.logo_skipped", "error": str(error)}
            )
            return
        raise transient("upload_unavailable", f"{what}: the logo is unavailable: {error}") from None
    await element.set_input_files(
        {"name": logo.name, "mimeType": logo.content_type, "buffer": logo.content}
    )
    ctx.say(f"  upload {step.selector} <- {logo.name}")
