"""`python -m deploy <supabase|k8s|local|rollback> [--yes] [--only db]` (make deploy / rollback).

Runs on the project in the current directory (as git and the supabase CLI do). Exit codes:
0 done, 1 a step failed or the plan was declined, 2 settings missing or wrong, or the plan
could not be confirmed (no terminal and neither --yes nor CI=true).

Every target follows the same path: check() lists every problem at once, steps() fills a
Plan (read-only inspection such as the migration dry run happens here), the plan is printed
and confirmed, then run. A target is a module with those two functions and an entry in TARGETS.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from deploy import k8s_target, local_target, rollback, supabase_target
from deploy.plan import Plan, Refused, StepFailed, confirm, print_plan, run
from deploy.settings import SettingsError

Check = Callable[[Mapping[str, str], Path, argparse.Namespace], list[str]]
# Fills the plan; returns a temporary directory to remove afterwards, if it made one.
Build = Callable[[Mapping[str, str], Path, Plan, argparse.Namespace], Path | None]


@dataclass(frozen=True)
class Target:
    title: str
    check: Check
    build: Build


def _supabase_build(
    env: Mapping[str, str], cwd: Path, plan: Plan, args: argparse.Namespace
) -> None:
    if args.only == "db":
        plan.title = "Supabase, --only db: migrations only"
    supabase_target.steps(env, cwd, plan, only_db=args.only == "db")


def _rollback_build(
    env: Mapping[str, str], cwd: Path, plan: Plan, args: argparse.Namespace
) -> None:
    rollback.steps(env, plan)


TARGETS: dict[str, Target] = {
    "supabase": Target(
        "Supabase: migrations, Auth config, function secrets, checkout function",
        lambda env, cwd, args: supabase_target.check(env, cwd, only_db=args.only == "db"),
        _supabase_build,
    ),
    "k8s": Target(
        "Kubernetes: images pushed, the Supabase step, overlay applied, rollouts awaited",
        lambda env, cwd, args: k8s_target.check(env, cwd),
        lambda env, cwd, plan, args: k8s_target.steps(env, cwd, plan),
    ),
    "local": Target(
        "Local rehearsal: the local overlay's Deployments under podman kube play",
        lambda env, cwd, args: local_target.check(env, cwd),
        lambda env, cwd, plan, args: local_target.steps(env, cwd, plan),
    ),
    "rollback": Target(
        "Rollback: every Deployment to its previous image tag (database untouched)",
        lambda env, cwd, args: rollback.check(env),
        _rollback_build,
    ),
}
# Known but not built yet: refused with this reason rather than half-working.
NOT_BUILT: dict[str, str] = {}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m deploy", description=__doc__)
    parser.add_argument("target", nargs="?", default="", help="supabase, k8s, local or rollback")
    parser.add_argument("--yes", action="store_true", help="run without asking (CI=true too)")
    parser.add_argument(
        "--only",
        choices=["db"],
        help="supabase only: push migrations and skip everything that needs a hosted project",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    env, cwd = dict(os.environ), Path.cwd()
    target = TARGETS.get(args.target)
    if args.target in NOT_BUILT:
        print(f"error: {NOT_BUILT[args.target]}", file=sys.stderr)
        return 2
    if target is None:
        known = ", ".join(name for name in [*TARGETS, *NOT_BUILT] if name != "rollback")
        problem = f"unknown TARGET {args.target!r}" if args.target else "TARGET is required"
        print(f"error: {problem}; choose one of: {known}", file=sys.stderr)
        return 2
    if args.only and args.target != "supabase":
        print("error: --only db applies to TARGET=supabase only", file=sys.stderr)
        return 2
    plan = Plan(target.title, cwd=cwd)
    scratch: Path | None = None
    try:
        problems = target.check(env, cwd, args)
        if problems:
            raise SettingsError(problems)
        scratch = target.build(env, cwd, plan, args)
        print_plan(plan)
        if not plan.steps:
            print("Nothing to do.")
            return 0
        confirm(args.yes, env)
        run(plan, env)
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except Refused as error:
        print(f"refused, nothing was run: {error}", file=sys.stderr)
        return 2 if "terminal" in str(error) else 1
    except StepFailed as error:
        print(f"error: {error}", file=sys.stderr)
        if args.target == "k8s" and "kubectl" in error.step.argv:
            # The previous tags were recorded with the apply, so this works mid-rollout too.
            print("to put the previous images back: make rollback", file=sys.stderr)
        return 1
    except RuntimeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    print(f"\nDone: {plan.title}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
