"""Start the three processes (action server, Rasa, hub) on 127.0.0.1, wait until each
answers, print where they are; Ctrl-C stops them all. `make run` runs this file; the
end-to-end tests use `Stack` to start a real Rasa and action server.

Readiness is polled (Rasa takes 20-40 s to load its model), never slept for.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv" / "bin"
RASA_VENV = ROOT / ".venv-rasa" / "bin"
RASA_MODEL = ROOT / "models" / "faqbot.tar.gz"
LOGS = ROOT / "var" / "log"

QUIET_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1",
    "RASA_TELEMETRY_ENABLED": "false",
    "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "PYTHONUNBUFFERED": "1",
}


def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Service:
    name: str
    command: list[str]
    port: int
    ready_path: str  # answers 200 once the service can do its work
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen | None = None

    @property
    def ready_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.ready_path}"

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.command,
            cwd=ROOT,
            env={**os.environ, **QUIET_ENV, **self.env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches the launcher, which stops us in order
        )

    def ready(self) -> bool:
        try:
            return requests.get(self.ready_url, timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, grace: float = 10.0) -> None:
        if not self.alive():
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""


@dataclass
class Stack:
    """The processes of one running bot. Ports default to free ones (tests); `make run`
    passes the usual 5055/5005/8000."""

    actions_port: int = field(default_factory=free_port)
    rasa_port: int = field(default_factory=free_port)
    hub_port: int | None = None  # None: no hub process
    with_actions: bool = True  # False: Rasa points at an action server that is not there (tests)
    rasa_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    env: dict[str, str] = field(default_factory=dict)  # extra environment for all (FAQBOT_KB_DIR, ...)
    log_dir: Path = LOGS
    services: list[Service] = field(default_factory=list)

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    @property
    def actions_url(self) -> str:
        return f"http://127.0.0.1:{self.actions_port}"

    @property
    def hub_url(self) -> str:
        return f"http://127.0.0.1:{self.hub_port}"

    def build(self) -> list[Service]:
        actions = Service(
            "action server",
            [str(VENV / "python"), "-m", "rasa_sdk", "--actions", "bot.actions", "--port", str(self.actions_port)],
            self.actions_port,
            "/health",
            {"SANIC_HOST": "127.0.0.1", **self.env},
            self.log_dir / "actions.log",
        )
        rasa = Service(
            "rasa",
            [
                str(RASA_VENV / "rasa"),
                "run",
                "--enable-api",
                "--auth-token",
                self.rasa_token,
                "--interface",
                "127.0.0.1",
                "--port",
                str(self.rasa_port),
                "--model",
                str(RASA_MODEL),
                "--endpoints",
                "bot/endpoints.yml",
                "--credentials",
                "bot/credentials.yml",
            ],
            self.rasa_port,
            f"/status?token={self.rasa_token}",
            {"ACTION_SERVER_URL": f"{self.actions_url}/webhook", **self.env},
            self.log_dir / "rasa.log",
        )
        services = [actions, rasa] if self.with_actions else [rasa]
        if self.hub_port is not None:
            services.append(
                Service(
                    "hub",
                    [
                        str(VENV / "gunicorn"),
                        "--bind",
                        f"127.0.0.1:{self.hub_port}",
                        "--workers",
                        os.environ.get("HUB_WORKERS", "1"),
                        "--threads",
                        "16",
                        "--timeout",
                        "60",
                        "handoff.wsgi:app",
                    ],
                    self.hub_port,
                    "/health",
                    {"RASA_URL": self.rasa_url, "RASA_TOKEN": self.rasa_token, **self.env},
                    self.log_dir / "hub.log",
                )
            )
        return services

    def start(self, timeout: float = 240.0, report: Callable[[str], None] = lambda _: None) -> Stack:
        """Start everything and return once all answer; raise (after stopping what
        started) if one dies or does not come up in time."""
        self.launch()
        return self.wait(timeout, report)

    def launch(self) -> Stack:
        """Start the processes without waiting for them (several stacks start in parallel)."""
        if not RASA_MODEL.exists():
            raise RuntimeError(f"{RASA_MODEL} is missing: run `make model` (or `make run`)")
        self.services = self.build()
        for service in self.services:
            if not port_is_free(service.port):
                raise RuntimeError(f"port {service.port} for the {service.name} is in use (another `make run`?)")
        for service in self.services:
            service.start()
        return self

    def wait(self, timeout: float = 240.0, report: Callable[[str], None] = lambda _: None) -> Stack:
        """Return once every process answers; stop them all and raise if one dies first."""
        deadline = time.monotonic() + timeout
        pending = list(self.services)
        while pending:
            for service in list(pending):
                if not service.alive():
                    self.stop()
                    raise RuntimeError(f"{service.name} exited while starting:\n{service.tail()}")
                if service.ready():
                    pending.remove(service)
                    report(f"{service.name} is up")
            if time.monotonic() > deadline:
                names = ", ".join(s.name for s in pending)
                self.stop()
                raise RuntimeError(f"not up after {timeout:.0f} s: {names}")
            time.sleep(0.5)
        return self

    def stop(self) -> None:
        for service in reversed(self.services):
            service.stop()


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def main() -> int:
    signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops the children too, like Ctrl-C
    stack = Stack(
        actions_port=int(os.environ.get("ACTIONS_PORT", 5055)),
        rasa_port=int(os.environ.get("RASA_PORT", 5005)),
        hub_port=int(os.environ.get("HUB_PORT", 8000)),
        rasa_token=os.environ.get("RASA_TOKEN") or secrets.token_urlsafe(24),
    )
    from handoff.config import database_url
    from handoff.db import migrate

    migrate(database_url())  # before the hub's workers start, so they never race on it
    print(f"starting the action server, Rasa and the hub (logs in {LOGS.relative_to(ROOT)}/) ...", flush=True)
    started = time.monotonic()
    try:
        stack.start(report=lambda line: print(f"  {line} ({time.monotonic() - started:.0f} s)", flush=True))
    except (RuntimeError, KeyboardInterrupt) as exc:
        stack.stop()
        print(f"could not start: {exc}", file=sys.stderr)
        return 1
    print(
        f"""
Ready.
  hub (customer and agent APIs)  {stack.hub_url}
  Rasa server                    {stack.rasa_url}
  action server                  {stack.actions_url}

Try it:
  curl -s -X POST {stack.hub_url}/api/conversations
  (then POST {{"text": "jak zwrócić towar?"}} to /api/conversations/<id>/messages
   with the header 'Authorization: Bearer <token>'; see README.md)
Agents: .venv/bin/faqbot agent create NAME
Ctrl-C stops everything.""",
        flush=True,
    )
    try:
        while all(s.alive() for s in stack.services):
            time.sleep(1)
        dead = next(s for s in stack.services if not s.alive())
        print(f"\n{dead.name} stopped unexpectedly:\n{dead.tail()}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nstopping ...", flush=True)
        return 0
    finally:
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
