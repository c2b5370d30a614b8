"""Recipe phases (docs/recipes.md): validated by the worker (errors name the phase and step)
and by directories.schema.json; the phase runner's decisions (worker/phases.py) with the
browser work stood in for; the verification link and code read from a mail."""

from __future__ import annotations

import asyncio
import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from dbolt.business import Business
from dbolt.contracts import DirectoryAccount, InboundMail, Outcome, Phase, Resume, WaitKind
from dbolt.directories import DirectoryListError, validate_document
from worker import phases as runner
from worker.customer_action import customer_action
from worker.outcome import AttemptFailed, AttemptResult
from worker.recipe import Phases, PhaseSteps, RecipeError, VerifyEmail, parse_recipe
from worker.recipe_runner import RecipeContext

GOTO = {"action": "goto", "url": "{homepage}x"}
STEPS = {"steps": [GOTO]}
PHASES: dict[str, Any] = {
    "lookup": {
        "steps": [GOTO, {"action": "fill", "selector": "#q", "value": "business_name"}],
        "results": {"item": ".result", "name": ".name", "phone": ".phone", "link": "a"},
    },
    "signup": {
        "steps": [
            GOTO,
            {"action": "fill", "selector": "#e", "value": "account_login"},
            {"action": "fill", "selector": "#p", "value": "account_password"},
        ]
    },
    "verify_email": {"from": "@site.example", "timeout_hours": 2},
    "login": {"steps": [GOTO, {"action": "fill", "selector": "#p", "value": "account_password"}]},
    "submit": {"steps": [GOTO, {"action": "expect", "success": ".ok"}]},
    "claim": {"steps": [{"action": "goto", "url": "{listing_url}"}]},
    "confirm": {"listing_url": "a.listing", "pending": ".pending", "moderation_seconds": 90},
    "live_check": {"name": ".n", "address": ".a", "phone": ".p"},
}
BUSINESS = Business.model_validate(
    {
        "business_name": "Bluebird Bakery",
        "street_address": "12 Orchard Lane",
        "city": "Springfield",
        "postal_code": "62701",
        "country": "US",
        "phone": "+12175550123",
    }
)
SECRET = "never-say-this-password"  # a test value


def with_phases(**changes: Any) -> dict[str, Any]:
    phases = copy.deepcopy(PHASES)
    for name, value in changes.items():
        if value is None:
            phases.pop(name)
        else:
            phases[name] = value
    return {"phases": phases}


# --- validation ---------------------------------------------------------------------------


def test_a_phase_recipe_parses_and_a_steps_recipe_still_does() -> None:
    recipe = parse_recipe(with_phases())
    assert recipe.phases is not None
    assert recipe.steps is None
    assert recipe.phases.verify_email is not None
    assert recipe.phases.verify_email.sender == "@site.example"
    assert recipe.phases.confirm is not None
    assert recipe.phases.confirm.moderation_seconds == 90
    # The submit and claim are what the business's required fields are checked against.
    assert [s.action for s in recipe.form_steps()] == ["goto", "expect", "goto"]
    assert parse_recipe(STEPS).steps is not None


@pytest.mark.parametrize(
    ("recipe", "problem"),
    [
        ({"steps": [GOTO], "phases": PHASES}, "recipe: Value error, give either steps"),
        ({}, "recipe: Value error, give either steps"),
        (
            with_phases(signup={"steps": [GOTO, {"action": "fill", "selector": "#x"}]}),
            "recipe.phases.signup.steps.1.fill: Value error, give exactly one of value",
        ),
        (
            with_phases(login={"steps": [GOTO, {"action": "expect", "success": ".x"}]}),
            "login step 2: expect belongs in submit or claim",
        ),
        (
            with_phases(
                submit={
                    "steps": [{"action": "fill", "selector": "#p", "value": "account_password"}]
                }
            ),
            "submit step 1: account_password is typed in signup or login only",
        ),
        (
            with_phases(
                signup={
                    "steps": [
                        {
                            "action": "fill",
                            "selector": "#p",
                            "value": "account_password",
                            "transform": "upper",
                        }
                    ]
                }
            ),
            "recipe.phases.signup.steps.0.fill: Value error, account_password is typed as it is",
        ),
        (with_phases(submit=None, claim=None), "phases need submit"),
        (with_phases(signup=None), "verify_email follows signup"),
        (with_phases(lookup=None), "claim takes over what lookup found"),
        (
            with_phases(verify_email={"from": "@x", "link": "(unclosed"}),
            "recipe.phases.verify_email: Value error, link is not a regular expression",
        ),
        (
            with_phases(verify_email={"from": "@x", "link": "h", "code": "c"}),
            "give link or code, not both",
        ),
        (
            with_phases(verify_email={"from": "@x", "code": r"(\d{6})"}),
            "a code needs steps that fill value verification_code",
        ),
        (
            with_phases(verify_email={"subject": "x"}),
            "recipe.phases.verify_email.from: Field required",
        ),
        (with_phases(lookup={"steps": [GOTO]}), "recipe.phases.lookup.results: Field required"),
        (with_phases(publish=STEPS), "recipe.phases.publish: Extra inputs are not permitted"),
        (
            with_phases(confirm={"moderation_seconds": 0}),
            "recipe.phases.confirm.moderation_seconds",
        ),
    ],
)
def test_bad_phases_are_refused_naming_the_phase_and_step(
    recipe: dict[str, Any], problem: str
) -> None:
    with pytest.raises(RecipeError) as raised:
        parse_recipe(recipe)
    assert problem in str(raised.value)


def _entry(recipe: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "phased",
        "name": "Phased",
        "homepage": "https://phased.example/",
        "tier": "starter",
        "priority": 1,
        "mode": "recipe",
        "enabled": False,
        "recipe": recipe,
    }


def test_the_schema_takes_phases_and_still_takes_steps() -> None:
    one_form = _entry(STEPS) | {"id": "one-form"}
    validate_document({"version": 1, "directories": [_entry(with_phases()), one_form]})


@pytest.mark.parametrize(
    ("recipe", "path"),
    [
        ({"steps": [GOTO], "phases": PHASES}, "$.directories[0].recipe"),
        (with_phases(publish=STEPS), "$.directories[0].recipe.phases"),
        (with_phases(submit=None, claim=None), "$.directories[0].recipe.phases"),
        (with_phases(signup=None), "$.directories[0].recipe.phases"),
        (
            with_phases(verify_email={"from": "@x", "link": "a", "code": "b"}),
            "$.directories[0].recipe.phases.verify_email",
        ),
        (with_phases(lookup={"steps": [GOTO]}), "$.directories[0].recipe.phases.lookup"),
        (with_phases(login={"steps": []}), "$.directories[0].recipe.phases.login.steps"),
        (
            with_phases(confirm={"moderation_seconds": "soon"}),
            "$.directories[0].recipe.phases.confirm.moderation_seconds",
        ),
    ],
)
def test_the_schema_refuses_bad_phases_naming_the_path(recipe: dict[str, Any], path: str) -> None:
    with pytest.raises(DirectoryListError) as raised:
        validate_document({"version": 1, "directories": [_entry(recipe)]})
    assert any(problem.startswith(f"{path}:") for problem in raised.value.problems), (
        raised.value.problems
    )


# --- the mail ------------------------------------------------------------------------------


def mail(text: str, html: str = "") -> InboundMail:
    return InboundMail(
        id=7,
        sender="no-reply@site.example",
        recipient="bluebird@mail.example",
        subject="Confirm",
        text=text,
        html=html,
        received_at=datetime.now(UTC),
    )


def test_the_verification_link_is_the_first_to_the_directorys_host_or_the_recipes() -> None:
    directory = {"homepage": "http://127.0.0.1:8400/lifecycle-verify/"}
    body = (
        "Help: https://help.example/faq\n"
        "Confirm: http://127.0.0.1:8400/lifecycle-verify/verify?token=abc\n"
    )
    spec = VerifyEmail.model_validate({"from": "@site.example"})
    assert runner.mail_link(mail(body), spec, directory) == (
        "http://127.0.0.1:8400/lifecycle-verify/verify?token=abc"
    )
    html_only = '<a href="http://127.0.0.1:8400/v?token=a&amp;b=1">Confirm</a>'
    assert runner.mail_link(mail("", html_only), spec, directory) == (
        "http://127.0.0.1:8400/v?token=a&b=1"
    )
    assert runner.mail_link(mail("Help: https://help.example/faq"), spec, directory) is None
    by_pattern = VerifyEmail.model_validate({"from": "@x", "link": r"Confirm: (\S+)"})
    assert runner.mail_link(mail(body), by_pattern, directory) == (
        "http://127.0.0.1:8400/lifecycle-verify/verify?token=abc"
    )


def test_a_recipes_link_pattern_never_leads_off_the_directorys_site() -> None:
    directory = {"homepage": "https://www.site.example/"}
    spec = VerifyEmail.model_validate({"from": "@site.example", "link": r"Go (\S+)"})
    for off_site in (
        "https://help.example/faq",
        "https://site.example.attacker.example/verify",
        "javascript:alert(1)//https://site.example/",
        "http://169.254.169.254/latest/meta-data",
    ):
        assert runner.mail_link(mail(f"Go {off_site}"), spec, directory) is None, off_site
    for on_site in ("https://site.example/v?t=1", "https://accounts.site.example/v?t=1"):
        assert runner.mail_link(mail(f"Go {on_site}"), spec, directory) == on_site


def test_the_verification_code_is_read_by_the_recipes_pattern() -> None:
    spec = VerifyEmail.model_validate(
        {
            "from": "@x",
            "code": r"code is (\d{6})",
            "steps": [{"action": "fill", "selector": "#c", "value": "verification_code"}],
        }
    )
    assert runner.mail_code(mail("Your code is 483920."), spec) == "483920"
    assert runner.mail_code(mail("No code here"), spec) is None


def test_the_customer_is_told_which_details_differ_in_our_words() -> None:
    words = customer_action("listing_differs", "Yelp", None, None, ["address", "phone"])
    assert words == (
        "Yelp already lists your business with a different address and phone number. "
        "Our team will ask it to correct the listing; tell us if that listing is not yours."
    )


# --- the runner's decisions -----------------------------------------------------------------


class FakeContext:
    def __init__(self) -> None:
        self.saved = 0

    async def storage_state(self) -> dict[str, Any]:
        self.saved += 1
        return {"cookies": [{"name": "session", "value": "s"}], "origins": []}


class FakePage:
    def __init__(self) -> None:
        self.context = FakeContext()
        self.url = "http://site.example/"


class Recorder:
    def __init__(self, created: bool = True, fail: str | None = None) -> None:
        self.created = created
        self.fail = fail
        self.sessions: list[dict[str, Any]] = []
        self.accounts = 0

    async def open_account(self) -> DirectoryAccount:
        if self.fail == "account":
            raise RuntimeError("orchestrator down")
        self.accounts += 1
        return DirectoryAccount(
            login="bluebird@mail.example", password=SECRET, site_url="x", created=self.created
        )

    async def save_session(self, storage_state: dict[str, Any]) -> None:
        if self.fail == "session":
            raise RuntimeError("orchestrator down")
        self.sessions.append(storage_state)


class Harness:
    """Runs run_phases with the browser work replaced by records of what ran."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, found: runner.Found | None = None):
        self.ran: list[tuple[str, bool]] = []  # (phase, fenced)
        self.phases = parse_recipe(with_phases()).phases
        assert self.phases is not None
        names = {id(getattr(self.phases, n)): n for n in ("signup", "login", "submit", "claim")}
        self.found = found
        self.listing_url: str | None = None

        async def run_recipe(ctx: RecipeContext, steps: PhaseSteps, classify: bool = True) -> None:
            self.ran.append((names.get(id(steps), "?"), ctx.fence is not None))
            if names.get(id(steps)) in ("submit", "claim"):
                ctx.result.outcome, ctx.result.confirmed = Outcome.success, True

        async def lookup(ctx: RecipeContext, spec: Any) -> runner.Found | None:
            self.ran.append(("lookup", ctx.fence is not None))
            return self.found

        async def verify_email(ctx: RecipeContext, spec: Any, mail: Any) -> None:
            self.ran.append(("verify_email", mail is not None))

        async def confirm(ctx: RecipeContext, spec: Any, lifecycle: Any) -> None:
            self.ran.append(("confirm", False))
            ctx.result.listing_url = self.listing_url or "http://site.example/listing/1"

        monkeypatch.setattr(runner, "run_recipe", run_recipe)
        monkeypatch.setattr(runner, "lookup", lookup)
        monkeypatch.setattr(runner, "verify_email", verify_email)
        monkeypatch.setattr(runner, "confirm", confirm)

    def run(
        self,
        lifecycle: Recorder | None,
        resume: Resume | None = None,
        phases: Phases | None = None,
    ) -> AttemptResult:
        result = AttemptResult(Outcome.success)

        async def fence() -> None:
            return None

        ctx = RecipeContext(
            FakePage(),  # type: ignore[arg-type]
            BUSINESS,
            {"name": "Site", "homepage": "http://site.example/"},
            None,
            1000,
            result,
            lambda _: None,
            fence=fence,
        )
        asyncio.run(runner.run_phases(ctx, phases or self.phases, lifecycle, resume))  # type: ignore[arg-type]
        assert ctx.fence is fence  # handed back as it came
        return result


FOUND_SAME = runner.Found(
    "Bluebird Bakery", "http://site.example/listing/9", [], {}, ["address", "phone"]
)
# Same name, and nothing else shown to compare: anyone could have listed a bare name.
FOUND_NAME_ONLY = runner.Found("Bluebird Bakery", "http://site.example/listing/7", [], {})
FOUND_OTHER_PHONE = runner.Found(
    "Bluebird Bakery", "http://site.example/listing/9", ["phone"], {"phone": "(217) 555-0999"}
)
MAIL = mail("http://site.example/verify?token=t")


def test_found_with_the_same_details_is_already_listed_and_nothing_else_runs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    harness = Harness(monkeypatch, FOUND_SAME)
    recorder = Recorder()
    result = harness.run(recorder)
    assert result.outcome is Outcome.already_listed
    assert result.listing_url == "http://site.example/listing/9"
    assert harness.ran == [("lookup", False)]
    assert recorder.accounts == 0


def test_a_listing_matching_only_by_name_is_neither_delivered_nor_claimed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    harness = Harness(monkeypatch, FOUND_NAME_ONLY)
    recorder = Recorder()
    result = harness.run(recorder)
    assert result.outcome is Outcome.needs_action
    assert result.action_kind == "listing_unverified"
    assert result.listing_url is None
    assert harness.ran == [("lookup", False)]
    assert recorder.accounts == 0


def test_found_with_other_details_and_no_claim_phase_needs_the_customer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    harness = Harness(monkeypatch, FOUND_OTHER_PHONE)
    phases = parse_recipe(with_phases(claim=None)).phases
    result = harness.run(Recorder(), phases=phases)
    assert result.outcome is Outcome.needs_action
    assert result.action_kind == "listing_differs"
    assert result.differing == ["phone"]
    assert result.message is not None
    assert "'(217) 555-0999'" in result.message


def test_not_found_signs_up_and_parks_for_the_email_with_the_session_saved(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    harness = Harness(monkeypatch)
    recorder = Recorder()
    result = harness.run(recorder)
    assert harness.ran == [("lookup", False), ("signup", False)]
    assert result.outcome is Outcome.parked
    assert (result.wait_kind, result.wait_seconds, result.resume_phase) == (
        WaitKind.email,
        7200,
        Phase.verify_email,
    )
    assert recorder.sessions == [{"cookies": [{"name": "session", "value": "s"}], "origins": []}]
    assert result.reported()["resume_phase"] == Phase.verify_email


def test_the_mail_resumes_at_verify_and_only_the_submit_is_fenced(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    harness = Harness(monkeypatch)
    result = harness.run(Recorder(created=False), Resume(phase=Phase.verify_email, mail=MAIL))
    assert harness.ran == [
        ("lookup", False),
        ("verify_email", True),
        ("login", False),
        ("submit", True),
        ("confirm", False),
    ]
    assert result.outcome is Outcome.success
    assert result.listing_url == "http://site.example/listing/1"


def test_other_details_with_a_claim_phase_claim_instead_of_submitting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    harness = Harness(monkeypatch, FOUND_OTHER_PHONE)
    first = harness.run(Recorder())
    assert first.outcome is Outcome.parked
    harness.ran.clear()
    harness.run(Recorder(created=False), Resume(phase=Phase.verify_email, mail=MAIL))
    # The lookup runs again on the resume (read-only), and decides the claim.
    assert [name for name, _ in harness.ran] == [
        "lookup",
        "verify_email",
        "login",
        "claim",
        "confirm",
    ]
    assert ("claim", True) in harness.ran


def test_an_account_an_earlier_job_opened_is_not_signed_up_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    harness = Harness(monkeypatch)
    result = harness.run(Recorder(created=False))
    assert [name for name, _ in harness.ran] == ["lookup", "login", "submit", "confirm"]
    assert result.outcome is Outcome.success


def test_a_resume_at_confirm_neither_looks_up_nor_submits_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    harness = Harness(monkeypatch, FOUND_SAME)
    result = harness.run(Recorder(), Resume(phase=Phase.confirm))
    assert harness.ran == [("confirm", False)]
    assert result.outcome is Outcome.success


@pytest.mark.parametrize(
    ("fail", "code"), [("account", "account_unavailable"), ("session", "session_not_saved")]
)
def test_the_orchestrator_failing_ends_the_attempt_as_transient(
    monkeypatch: pytest.MonkeyPatch, fail: str, code: str
) -> None:
    harness = Harness(monkeypatch)
    with pytest.raises(AttemptFailed) as raised:
        harness.run(Recorder(fail=fail))
    assert raised.value.outcome is Outcome.transient_error
    assert raised.value.error_code == code


def test_without_a_lifecycle_a_phase_that_needs_an_account_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    harness = Harness(monkeypatch)
    with pytest.raises(AttemptFailed) as raised:
        harness.run(None)
    assert raised.value.error_code == "no_account"


def test_the_password_is_scrubbed_from_what_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    harness = Harness(monkeypatch)

    async def echoing_confirm(ctx: RecipeContext, spec: Any, lifecycle: Any) -> None:
        ctx.result.message = f"the site said: your password {SECRET} is weak"

    monkeypatch.setattr(runner, "confirm", echoing_confirm)
    result = harness.run(Recorder(created=False))
    assert result.message == "the site said: your password [hidden] is weak"
