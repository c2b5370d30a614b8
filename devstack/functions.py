"""Supabase Edge Functions served locally by plain Deno: one process per function.

`supabase functions serve` needs Docker. Here each function in `supabase/functions/<name>/`
(a folder with an `index.ts` that calls `Deno.serve`; folders starting with `_` are shared
code, as Supabase treats them) runs in its own Deno process on a loopback port chosen by
`DENO_SERVE_ADDRESS`, and the Supabase stand-in on 54321 proxies
`/functions/v1/<name>` to it (devstack/supabase_api/functions_proxy.py), as Supabase does.

Each process gets a small environment built from scratch — Deno's own variables plus the
secrets passed in — never the caller's whole environment, and the least Deno permissions
that work: network to 127.0.0.1 only, environment reads (of that small environment), no
file system, no subprocesses, no prompts.

    python -m devstack.functions [--port-base 54340] [--env-file F] [--env NAME=VALUE ...]
                                 [--pass-env NAME ...]

prints `SUPABASE_FUNCTIONS=checkout=http://127.0.0.1:54340,…` (what the stand-in needs) and
serves until Ctrl-C / SIGTERM.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO
from urllib.parse import urlsplit

from dbolt.env_file import read_env_file

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS_DIR = ROOT / "supabase" / "functions"
DENO = ROOT / "node_modules" / ".bin" / "deno"
DEFAULT_DENO_DIR = ROOT / ".local" / "deno"
LOOPBACK = "127.0.0.1"
# The stand-in reads its upstreams from this variable: `name=url[,name=url…]`.
UPSTREAMS_ENV = "SUPABASE_FUNCTIONS"
DEFAULT_PORT_BASE = 54340

# What Deno itself needs from the environment; everything else must be passed on purpose.
_DENO_ENV_PASSTHROUGH = ("PATH", "HOME", "TZ", "LANG", "SSL_CERT_FILE", "DENO_CERT")


def discover(functions_dir: Path = FUNCTIONS_DIR) -> list[str]:
    """The function names, sorted: folders with an `index.ts`, except shared `_` folders."""
    if not functions_dir.is_dir():
        return []
    return sorted(
        entry.name
        for entry in functions_dir.iterdir()
        if entry.is_dir()
        and not entry.name.startswith(("_", "."))
        and (entry / "index.ts").is_file()
    )


def plan_ports(names: Sequence[str], port_base: int) -> dict[str, int]:
    """Fixed ports for `make up`: the n-th function (sorted by name) on port_base + n."""
    return {name: port_base + index for index, name in enumerate(sorted(names))}


def format_upstreams(upstreams: Mapping[str, str]) -> str:
    return ",".join(f"{name}={url}" for name, url in sorted(upstreams.items()))


def parse_upstreams(text: str) -> dict[str, str]:
    """`checkout=http://127.0.0.1:54340,…` → {"checkout": "http://127.0.0.1:54340"}.

    Loopback http URLs only: the stand-in forwards callers' bearer tokens there."""
    upstreams: dict[str, str] = {}
    for item in (part.strip() for part in text.replace("\n", ",").split(",")):
        if not item:
            continue
        name, separator, url = item.partition("=")
        name, url = name.strip(), url.strip().rstrip("/")
        if not separator or not name or "/" in name:
            raise ValueError(f"{UPSTREAMS_ENV}: {item!r} is not name=url")
        parts = urlsplit(url)
        if parts.scheme != "http" or parts.hostname not in (LOOPBACK, "localhost", "::1"):
            raise ValueError(f"{UPSTREAMS_ENV}: {name}'s URL must be a loopback http URL")
        upstreams[name] = url
    return upstreams


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        port: int = probe.getsockname()[1]
        return port


def deno_command(name: str, functions_dir: Path = FUNCTIONS_DIR) -> list[str]:
    command = [
        str(DENO),
        "run",
        "--no-prompt",
        "--allow-net=127.0.0.1",
        "--allow-env",
    ]
    config = functions_dir / "deno.json"
    if config.is_file():
        command += ["--config", str(config)]
    return [*command, str(functions_dir / name / "index.ts")]


def function_env(secrets: Mapping[str, str], port: int) -> dict[str, str]:
    """The whole environment a function process sees."""
    env = {key: os.environ[key] for key in _DENO_ENV_PASSTHROUGH if key in os.environ}
    env |= {
        "DENO_DIR": os.environ.get("DENO_DIR") or str(DEFAULT_DENO_DIR),
        "DENO_NO_UPDATE_CHECK": "1",
        "NO_COLOR": "1",
        "DENO_SERVE_ADDRESS": f"tcp:{LOOPBACK}:{port}",
    }
    return env | dict(secrets)


def _with_parent_death_signal(command: list[str]) -> list[str]:
    """A SIGKILLed parent must not leave Deno running: util-linux's setpriv sets
    PR_SET_PDEATHSIG and execs (no preexec_fn, which is unsafe in a threaded parent). The
    signal follows the parent *thread* that started the process, so start from a thread that
    lives as long as the functions should (the main thread, in `make up` and the tests)."""
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "TERM", "--", *command] if setpriv else command


def _port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((LOOPBACK, port)) == 0


class EdgeFunctions:
    """`with EdgeFunctions(secrets) as functions:` — `functions.upstreams` maps each name to
    its loopback URL meanwhile. `ports` fixes ports (else free ones are picked); each
    process's output goes to `log_dir/deno-<name>.log`, else to this process's own."""

    def __init__(
        self,
        secrets: Mapping[str, str],
        *,
        functions_dir: Path = FUNCTIONS_DIR,
        names: Sequence[str] | None = None,
        ports: Mapping[str, int] | None = None,
        log_dir: Path | None = None,
        startup_timeout: float = 30.0,
    ) -> None:
        self.functions_dir = functions_dir
        self.names = list(names) if names is not None else discover(functions_dir)
        self.ports = {name: (ports or {}).get(name) or free_port() for name in self.names}
        self.secrets = dict(secrets)
        self.log_dir = log_dir
        self.startup_timeout = startup_timeout
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self._logs: list[IO[bytes]] = []

    @property
    def upstreams(self) -> dict[str, str]:
        return {name: f"http://{LOOPBACK}:{port}" for name, port in self.ports.items()}

    def start(self) -> None:
        if not DENO.exists():
            raise RuntimeError(f"Deno missing at {DENO}: run `make deps` (npm ci) first")
        try:
            for name in self.names:
                self._spawn(name)
            for name in self.names:
                self._wait_ready(name)
        except BaseException:
            self.stop()
            raise

    def _spawn(self, name: str) -> None:
        output: IO[bytes] | None = None
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            output = (self.log_dir / f"deno-{name}.log").open("ab")
            self._logs.append(output)
        self.processes[name] = subprocess.Popen(
            _with_parent_death_signal(deno_command(name, self.functions_dir)),
            cwd=ROOT,
            env=function_env(self.secrets, self.ports[name]),
            stdout=output,
            stderr=subprocess.STDOUT if output else None,
        )

    def _wait_ready(self, name: str) -> None:
        process, port = self.processes[name], self.ports[name]
        deadline = time.monotonic() + self.startup_timeout
        while not _port_open(port):
            if process.poll() is not None:
                raise RuntimeError(f"Edge Function {name} exited with {process.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Edge Function {name} did not listen on port {port}")
            time.sleep(0.05)

    def alive(self) -> bool:
        return bool(self.processes) and all(p.poll() is None for p in self.processes.values())

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for log in self._logs:
            log.close()
        self._logs.clear()

    def __enter__(self) -> EdgeFunctions:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def _pairs(values: Sequence[str]) -> Iterator[tuple[str, str]]:
    for item in values:
        name, separator, value = item.partition("=")
        if not separator or not name:
            raise ValueError(f"--env: {item!r} is not NAME=VALUE")
        yield name, value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devstack.functions",
        description="Serve supabase/functions/* with Deno, one process per function, on "
        "loopback ports; the Supabase stand-in proxies /functions/v1/<name> to them "
        f"(give it the printed {UPSTREAMS_ENV}).",
    )
    parser.add_argument(
        "--port-base",
        type=int,
        default=DEFAULT_PORT_BASE,
        help="the first function (by name) listens here, the next one port higher, … "
        "(0: free ports)",
    )
    parser.add_argument("--env-file", type=Path, help="NAME=VALUE lines given to every function")
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a variable given to every function (repeatable; wins over --env-file)",
    )
    parser.add_argument(
        "--pass-env",
        action="append",
        default=[],
        metavar="NAME",
        help="give every function this variable from this process's environment, if set "
        "(repeatable; keeps secrets off the command line)",
    )
    parser.add_argument("--log-dir", type=Path, help="write each function's output here")
    args = parser.parse_args(argv)

    try:
        secrets = read_env_file(args.env_file) if args.env_file else {}
        secrets |= {name: os.environ[name] for name in args.pass_env if name in os.environ}
        secrets |= dict(_pairs(args.env))
    except (OSError, ValueError) as error:
        parser.exit(2, f"{parser.prog}: {error}\n")
    names = discover()
    if not names:
        parser.exit(1, f"{parser.prog}: no functions under {FUNCTIONS_DIR}\n")
    ports = plan_ports(names, args.port_base) if args.port_base else None

    stop_requested = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop_requested.set())
    functions = EdgeFunctions(secrets, names=names, ports=ports, log_dir=args.log_dir)
    try:
        functions.start()
    except RuntimeError as error:
        print(f"{parser.prog}: {error}", file=sys.stderr)
        return 1
    print(f"{UPSTREAMS_ENV}={format_upstreams(functions.upstreams)}", flush=True)
    try:
        while not stop_requested.wait(0.5):
            if not functions.alive():
                print(f"{parser.prog}: a function process exited", file=sys.stderr)
                return 1
        return 0
    finally:
        functions.stop()


if __name__ == "__main__":
    sys.exit(main())
