"""A deploy as a list of commands: printed (secrets by name only), confirmed, then run.

Operators must see exactly what will happen before anything changes, and a plan that is
pasted into a ticket or a CI log must never carry a secret, so a command refers to a secret
as an `EnvRef` — printed `$NAME`, read from the environment only when the command runs.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class EnvRef:
    """An argument taken from the environment at run time and printed as `$NAME`."""

    name: str


Arg = str | EnvRef


@dataclass(frozen=True)
class Step:
    why: str
    argv: tuple[Arg, ...]
    # Variables the command reads from its environment (tokens, config substitutions):
    # listed by name so the operator knows what it depends on.
    reads_env: tuple[str, ...] = ()
    # Non-secret values this tool derives for the command (still printed by name only).
    extra_env: Mapping[str, str] = field(default_factory=dict)


@dataclass
class Plan:
    title: str
    steps: list[Step] = field(default_factory=list)
    # What was looked at before asking (read-only), and what is deliberately not done.
    notes: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    cwd: Path = field(default_factory=Path.cwd)


def shown(argv: Sequence[Arg]) -> str:
    return " ".join(
        f'"${arg.name}"' if isinstance(arg, EnvRef) else shlex.quote(arg) for arg in argv
    )


def resolved(argv: Sequence[Arg], env: Mapping[str, str]) -> list[str]:
    return [env[arg.name] if isinstance(arg, EnvRef) else arg for arg in argv]


def redact(text: str, env: Mapping[str, str], names: Sequence[str]) -> str:
    """`text` with the value of every named variable replaced by `$NAME`.

    For output of commands this tool captures and shows (a dry run): a tool that echoes
    its connection string must not leak it through us.
    """
    for name in names:
        value = env.get(name, "")
        if len(value) >= 4:
            text = text.replace(value, f"${name}")
    return text


def print_plan(plan: Plan) -> None:
    print(f"\n== Plan: {plan.title}")
    print(f"   (in {plan.cwd})")
    for note in plan.notes:
        print(f"   note: {note}")
    for number, step in enumerate(plan.steps, start=1):
        print(f"{number:>3}. {step.why}")
        print(f"     $ {shown(step.argv)}")
        names = [*step.reads_env, *step.extra_env]
        if names:
            print(f"     (reads from the environment: {', '.join(names)})")
    for what, reason in plan.skipped:
        print(f"  skipped: {what} — {reason}")
    if not plan.steps:
        print("  nothing to run")


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes"}


class Refused(Exception):
    """The plan was not confirmed; nothing was run."""


def confirm(assume_yes: bool, env: Mapping[str, str]) -> None:
    """Return if the operator (or --yes, or CI) agreed; raise Refused otherwise.

    Without a terminal there is nobody to answer: refuse at once instead of hanging or
    reading a stray "y" from a pipe.
    """
    if assume_yes:
        print("Confirmed by --yes.")
        return
    if _truthy(env.get("CI")):
        print("Confirmed by CI=true.")
        return
    if not sys.stdin.isatty():
        raise Refused(
            "stdin is not a terminal, so the plan cannot be confirmed: "
            "pass --yes (make … YES=1) or set CI=true to run it unattended"
        )
    answer = input("Run this plan? [y/N] ").strip().lower()
    if answer not in {"y", "yes"}:
        raise Refused("not confirmed")


class StepFailed(Exception):
    def __init__(self, number: int, step: Step, returncode: int) -> None:
        self.step = step
        super().__init__(f"step {number} failed (exit {returncode}): {shown(step.argv)}")


def run(plan: Plan, env: Mapping[str, str] | None = None) -> None:
    """Run every step in order, output streamed; stop at the first failure."""
    base = dict(os.environ if env is None else env)
    for number, step in enumerate(plan.steps, start=1):
        print(f"\n--> {number}/{len(plan.steps)} {step.why}\n    $ {shown(step.argv)}", flush=True)
        result = subprocess.run(
            resolved(step.argv, base),
            env={**base, **step.extra_env},
            cwd=plan.cwd,
            check=False,
        )
        if result.returncode != 0:
            raise StepFailed(number, step, result.returncode)
