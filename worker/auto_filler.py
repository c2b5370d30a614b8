"""The generic filler for directories without a recipe: find the form, map fields with
worker.automap, walk through "Next" steps, submit, classify by the page's wording."""

from __future__ import annotations

import logging
import re
from typing import Any

from playwright.async_api import Page

from dbolt.typed_values import country_name as country_name_of
from worker import pages
from worker.automap import FieldInfo, plan
from worker.outcome import permanent
from worker.recipe_runner import RecipeContext, classify_page, fence_submit

log = logging.getLogger(__name__)
MAX_STEPS = 6

# Marks each visible control with data-dbolt-index and describes it for automap.
_COLLECT = """
() => {
  const visible = el => !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length)
                        && getComputedStyle(el).visibility !== 'hidden';
  const labelOf = el => {
    if (el.id) {
      const label = document.querySelector(`label[for="${CSS.escape(el.id)}"]`);
      if (label) return label.innerText;
    }
    const wrapping = el.closest('label');
    if (wrapping) return wrapping.innerText;
    const by = el.getAttribute('aria-labelledby');
    if (by) {
      return by.split(' ').map(id => (document.getElementById(id) || {}).innerText || '').join(' ');
    }
    return '';
  };
  const fields = [];
  document.querySelectorAll('[data-dbolt-index]')
    .forEach(el => el.removeAttribute('data-dbolt-index'));
  document.querySelectorAll('input, select, textarea').forEach((el, index) => {
    if (!visible(el) || el.disabled) return;
    el.setAttribute('data-dbolt-index', String(index));
    fields.push({
      index, tag: el.tagName, type: el.type || '', name: el.name || '', id: el.id || '',
      autocomplete: el.getAttribute('autocomplete') || '', label: labelOf(el),
      placeholder: el.getAttribute('placeholder') || '',
      ariaLabel: el.getAttribute('aria-label') || '',
      required: !!el.required,
      options: el.tagName === 'SELECT'
        ? Array.from(el.options).map(o => ({value: o.value, label: o.text})) : [],
    });
  });
  return fields;
}
"""
_BUTTONS = """
() => { document.querySelectorAll('[data-dbolt-button]')
    .forEach(el => el.removeAttribute('data-dbolt-button'));
return Array.from(document.querySelectorAll(
    'button, input[type=submit], input[type=button], a[role=button]'))
  .filter(el => !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length))
  .map((el, i) => { el.setAttribute('data-dbolt-button', String(i));
    return {i, text: (el.innerText || el.value || '').trim(), type: el.type || ''}; }); }
"""
# The labels of required fields still invalid in the form that holds the button.
_INVALID = """
(button) => {
  const form = button.closest('form');
  if (!form) return [];
  return Array.from(form.elements).filter(el => el.willValidate && !el.checkValidity())
    .map(el => (el.labels && el.labels[0] && el.labels[0].innerText)
               || el.name || el.id || el.type);
}
"""
_LISTING_LINK = "a:text-matches('(your|view|see) (the )?listing', 'i'), a[href*='listing']"
_NEXT = re.compile(r"^(next|continue|proceed)\b", re.I)
_SUBMIT = re.compile(r"submit|send|add|save|publish|register|create|list|finish|done", re.I)


async def _form_target(page: Page) -> pages.Target | None:
    for frame in [page.main_frame, *page.main_frame.child_frames]:
        if await frame.locator("form input, form select, form textarea").count():
            return frame
    return None


async def _button(target: pages.Target) -> tuple[str, Any] | None:
    buttons: list[dict[str, Any]] = await target.evaluate(_BUTTONS)
    for kind, pattern in (("next", _NEXT), ("submit", _SUBMIT)):
        for button in buttons:
            if pattern.search(button["text"]) or (kind == "submit" and button["type"] == "submit"):
                return kind, target.locator(f'[data-dbolt-button="{button["i"]}"]')
    return None


async def run_auto(ctx: RecipeContext) -> None:
    url = ctx.directory.get("submit_url") or ctx.directory["homepage"]
    ctx.say(f"  goto {url} (generic filler)")
    await pages.goto(ctx.page, url)
    country_name = country_name_of(ctx.business.country or "")
    for _ in range(MAX_STEPS):
        target = await _form_target(ctx.page)
        if target is None:
            raise permanent("form_gone", f"no submission form found on {ctx.page.url}")
        fields = [FieldInfo.from_js(f) for f in await target.evaluate(_COLLECT)]
        planned, skipped = plan(
            fields, ctx.business, country_name, ctx.directory.get("category_map")
        )
        for item in planned:
            element = target.locator(f'[data-dbolt-index="{item.field.index}"]')
            if item.kind == "fill":
                await element.fill(item.value)
            elif item.kind == "select":
                await element.select_option(value=item.value)
            else:
                await element.set_checked(True)
            label = item.field.label.strip() or item.field.name or item.field.id
            ctx.result.filled.append((label, item.value))
            ctx.say(f"  {item.kind} {label!r} = {item.value!r}  ({item.reason})")
        for field in skipped:
            if field.required:
                name = field.label or field.name or field.id
                ctx.say(f"  left alone (required, not understood): {name!r}")
        button = await _button(target)
        if button is None:
            raise permanent("form_gone", f"no submit button found on {ctx.page.url}")
        kind, element = button
        if kind == "next":
            ctx.say("  next step")
            await element.click()
            await ctx.page.wait_for_timeout(200)
            continue
        invalid: list[str] = await element.evaluate(_INVALID)
        if invalid:
            # The browser would refuse to submit: say which fields need a recipe.
            names = ", ".join(repr(name.strip()) for name in invalid)
            raise permanent(
                "form_unfillable", f"the generic filler could not fill required fields: {names}"
            )
        await fence_submit(ctx)
        ctx.say("  submit")
        async with target.expect_navigation(wait_until="domcontentloaded") as navigation:
            await element.click()
        pages.check_response(await navigation.value, target.url)
        result_page = await _form_target(ctx.page) or ctx.page
        await classify_page(result_page, ctx.result)
        if ctx.result.confirmed:
            link = await pages.present(result_page, _LISTING_LINK)
            ctx.result.listing_url = await pages.absolute_href(result_page, link) if link else None
        return
    raise permanent("form_gone", f"gave up after {MAX_STEPS} form steps on {ctx.page.url}")
