"""Start the three processes (action server, Rasa, hub) on 127.0.0.1, keep them running,
print where they are; Ctrl-C (or SIGTERM) stops them all. `make run` runs this file; the
end-to-end tests use `Stack` to start a real Rasa and action server, and `Supervisor` to
keep them up.

- Readiness is polled (Rasa takes 20-40 s to load its model), never slept for.
- A process that dies is restarted on its own, with backoff; the others keep running (the
  hub answers customers while Rasa or the action server is away).
- Stopping never abandons a child: signal handlers only count signals, each child's whole
  process group gets SIGTERM and, after a grace period (or at a second signal), SIGKILL.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

import requests

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv" / "bin"
RASA_VENV = ROOT / ".venv-rasa" / "bin"
RASA_MODEL = ROOT / "models" / "faqbot.tar.gz"
RUN_RASA = ROOT / "bot" / "run_rasa.py"
LOGS = ROOT / "var" / "log"

QUIET_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1",
    "RASA_TELEMETRY_ENABLED": "false",
    "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "PYTHONUNBUFFERED": "1",
}

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def say(line: str) -> None:
    """The launcher's console. A closed stdout (terminal gone, reader ended) must never
    interrupt a stop half-way, so write errors are dropped."""
    with contextlib.suppress(OSError):
        print(line, flush=True)


def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def new_token() -> str:
    """A random Rasa API token. Hex, so it never starts with `-` (bot/run_rasa.py copes
    with one that does, but a user copying it into a command line might not)."""
    return secrets.token_hex(24)


def group_members(pgid: int) -> list[int]:
    """PIDs of the live (not zombie) processes in process group `pgid`, from /proc."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
        fields = stat[stat.rindex(")") + 2 :].split()
        if fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(int(entry.name))
    return members


def _die_with_parent() -> Callable[[], None] | None:
    """A `preexec_fn` that makes the child get SIGTERM when the launcher dies, even by
    SIGKILL, so no child outlives it (Linux's PR_SET_PDEATHSIG; it survives exec).

    It fires when the *thread* that started the child ends: start services from a
    thread that lives as long as they should (the main thread, in the launcher and in
    pytest). The function only calls prctl and getppid, resolved beforehand, so it is
    safe in the forked child."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    death_signal = ctypes.c_ulong(signal.SIGTERM)  # SIGTERM: each service stops gracefully, gunicorn its workers
    parent = os.getpid()

    def preexec() -> None:
        prctl(PR_SET_PDEATHSIG, death_signal)
        if os.getppid() != parent:  # the launcher died before prctl took effect
            os._exit(1)

    return preexec


@dataclass
class Service:
    name: str
    command: list[str]
    port: int
    ready_path: str  # answers 200 once the service can do its work
    env: dict[str, str]
    log_path: Path
    stop_grace: float = 10.0  # seconds between SIGTERM and SIGKILL
    process: subprocess.Popen | None = None

    @property
    def ready_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.ready_path}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def start(self) -> None:
        """Start the process in a session of its own: Ctrl-C reaches only the launcher,
        which stops the children in order; its group is what `stop` signals."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            log.write(f"---- {datetime.now():%Y-%m-%d %H:%M:%S} started by scripts/stack.py ----\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                self.command,
                cwd=ROOT,
                env={**os.environ, **QUIET_ENV, **self.env},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent(),
            )

    def ready(self) -> bool:
        try:
            return requests.get(self.ready_url, timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, grace: float | None = None, hurry: Callable[[], bool] = lambda: False) -> None:
        """SIGTERM to the whole process group (gunicorn's workers, anything a service
        spawned); SIGKILL to what is left after `grace` seconds, or as soon as `hurry()`
        says so. Returns once the group is gone."""
        if self.process is None:
            return
        grace = self.stop_grace if grace is None else grace
        self._signal_group(signal.SIGTERM)
        deadline = time.monotonic() + grace
        while self.process.poll() is None and time.monotonic() < deadline and not hurry():
            time.sleep(0.05)
        self.kill_group()

    def kill_group(self, timeout: float = 5.0) -> None:
        """SIGKILL the process and whatever is left of its group (a gunicorn master killed
        alone leaves workers holding the port), and wait until they are gone."""
        if self.process is None:
            return
        self._signal_group(signal.SIGKILL)
        self.process.wait()
        deadline = time.monotonic() + timeout
        while group_members(self.process.pid) and time.monotonic() < deadline:
            time.sleep(0.05)

    def _signal_group(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):  # the group is gone already
            os.killpg(self.process.pid, signum)

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
    rasa_token: str = field(default_factory=new_token)
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
        """The services in start order; they stop in reverse (hub, Rasa, action server)."""
        services = [self._actions()] if self.with_actions else []
        services.append(self._rasa())
        if self.hub_port is not None:
            services.append(self._hub())
        return services

    def _actions(self) -> Service:
        return Service(
            "action server",
            [str(VENV / "python"), "-m", "bot.server", "--port", str(self.actions_port)],
            self.actions_port,
            "/health",
            {"SANIC_HOST": "127.0.0.1", **self.env},
            self.log_dir / "actions.log",
        )

    def _rasa(self) -> Service:
        """Rasa through bot/run_rasa.py: the token travels in the environment, never on a
        command line (visible to all in `ps`, and one starting with `-` breaks argparse)."""
        return Service(
            "rasa",
            [
                str(RASA_VENV / "python"),
                str(RUN_RASA),
                "run",
                "--enable-api",
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
            f"/status?token={quote(self.rasa_token, safe='')}",
            {"ACTION_SERVER_URL": f"{self.actions_url}/webhook", **self.env, "RASA_TOKEN": self.rasa_token},
            self.log_dir / "rasa.log",
        )

    def _hub(self) -> Service:
        """gunicorn; its graceful stop lets open requests end, hence a grace before SIGKILL
        longer than handoff/gunicorn_conf.py's graceful_timeout (10 s)."""
        return Service(
            "hub",
            [
                str(VENV / "gunicorn"),
                "--config",
                "python:handoff.gunicorn_conf",
                "--bind",
                f"127.0.0.1:{self.hub_port}",
                "--workers",
                os.environ.get("HUB_WORKERS", "1"),
                "handoff.wsgi:app",
            ],
            self.hub_port,
            "/health",
            {"RASA_URL": self.rasa_url, "ACTIONS_URL": self.actions_url, **self.env, "RASA_TOKEN": self.rasa_token},
            self.log_dir / "hub.log",
            stop_grace=20.0,
        )

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
        try:
            for service in self.services:
                service.start()
        except BaseException:
            self.stop()
            raise
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

    def stop(self, hurry: Callable[[], bool] = lambda: False) -> None:
        """Hub first (it stops calling Rasa), then Rasa, then the action server."""
        for service in reversed(self.services):
            service.stop(hurry=hurry)


@dataclass(frozen=True)
class Backoff:
    """Delay before restarting a process that died: first, 2 x first, 4 x first ... up to
    `cap`. A process that stayed up `stable_after` seconds starts from `first` again, so
    one crash a day is retried at once while a crash loop does not spin the CPU."""

    first: float = 1.0
    cap: float = 30.0
    stable_after: float = 60.0

    def delay(self, failures: int) -> float:
        """Seconds to wait after the `failures`-th death in a row (1-based)."""
        return min(self.first * 2 ** (failures - 1), self.cap)


@dataclass
class _Watch:
    service: Service
    started_at: float
    failures: int = 0  # deaths in a row, without a stable run in between
    died_at: float | None = None
    restart_at: float | None = None  # set while waiting out the backoff
    ready: bool = False  # answered since it was last started


def _exit_description(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"exit code {returncode} (killed by {signal.Signals(-returncode).name})"
        except ValueError:
            return f"exit code {returncode}"
    return f"exit code {returncode}"


class Supervisor:
    """Keeps started services running: each `check()` notices a process that died,
    logs its name, exit code and the end of its log, and restarts it after a backoff,
    without touching the others. It also notes when each becomes ready.

    It does not loop or sleep by itself: `main()` calls `check()` a few times a second,
    and tests can drive it the same way."""

    def __init__(
        self,
        services: Iterable[Service],
        backoff: Backoff | None = None,
        log: Callable[[str], None] = say,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.backoff = backoff or Backoff()
        self._log = log
        self._clock = clock
        self._began = clock()
        self._watches = [_Watch(service, started_at=self._began) for service in services]
        self._stopping = False

    @property
    def services(self) -> list[Service]:
        return [watch.service for watch in self._watches]

    def all_ready(self) -> bool:
        return all(watch.ready for watch in self._watches)

    def restart_delay(self, service: Service) -> float | None:
        """Seconds until `service` is restarted, or None if no restart is pending."""
        watch = self._watch(service)
        return None if watch.restart_at is None else max(0.0, watch.restart_at - self._clock())

    def check(self) -> None:
        """One round: restarts that are due, deaths, readiness, stable runs."""
        for watch in self._watches:
            if self._stopping:
                return
            self._check(watch, self._clock())

    def stop(self, hurry: Callable[[], bool] = lambda: False) -> None:
        """Stop every service (hub, Rasa, action server) and restart none any more.
        Each gets its grace period unless `hurry()` turns true."""
        self._stopping = True
        for watch in reversed(self._watches):
            service = watch.service
            if service.process is None or watch.restart_at is not None:
                continue  # never started, or dead and its group cleaned up already
            self._log(f"  stopping {service.name} (pid {service.pid}) ...")
            service.stop(hurry=hurry)

    def _watch(self, service: Service) -> _Watch:
        return next(watch for watch in self._watches if watch.service is service)

    def _check(self, watch: _Watch, now: float) -> None:
        if watch.restart_at is not None:
            if now >= watch.restart_at:
                self._restart(watch, now)
            return
        if not watch.service.alive():
            self._on_death(watch, now)
            return
        if not watch.ready and watch.service.ready():
            watch.ready = True
            self._on_ready(watch, self._clock())
        if watch.failures and now - watch.started_at >= self.backoff.stable_after:
            watch.failures = 0

    def _on_death(self, watch: _Watch, now: float) -> None:
        service = watch.service
        service.kill_group()  # leftovers (gunicorn workers) would hold the port
        watch.failures += 1
        watch.died_at = now
        watch.ready = False
        delay = self.backoff.delay(watch.failures)
        watch.restart_at = now + delay
        self._log(
            f"{service.name} (pid {service.pid}) stopped unexpectedly: {_exit_description(service.process.returncode)}"
            f"; restarting it in {delay:g} s. The end of {service.log_path}:\n{_indent(service.tail(20))}"
        )

    def _restart(self, watch: _Watch, now: float) -> None:
        watch.restart_at = None
        watch.started_at = now
        try:
            watch.service.start()
        except OSError as exc:  # e.g. the executable vanished: keep trying, with backoff
            self._log(f"could not restart the {watch.service.name}: {exc}")
            watch.failures += 1
            watch.restart_at = now + self.backoff.delay(watch.failures)
            return
        self._log(f"{watch.service.name} restarted (pid {watch.service.pid})")

    def _on_ready(self, watch: _Watch, now: float) -> None:
        if watch.died_at is None:
            self._log(f"  {watch.service.name} is up ({now - self._began:.0f} s)")
        else:
            self._log(f"{watch.service.name} is up again, {now - watch.died_at:.1f} s after it stopped")


def _indent(text: str) -> str:
    return "\n".join(f"    {line}" for line in text.splitlines())


class StopSignals:
    """SIGINT, SIGTERM and SIGHUP, counted. The handlers only count: an exception raised
    inside a stop (what KeyboardInterrupt did) would abandon the children still running.
    The first signal asks for a stop; any later one asks to hurry it (SIGKILL at once)."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

    def __init__(self) -> None:
        self.count = 0

    def install(self) -> StopSignals:
        for signum in self.SIGNALS:
            signal.signal(signum, self._handle)
        return self

    def _handle(self, signum: int, frame: object) -> None:
        self.count += 1

    @property
    def requested(self) -> bool:
        return self.count > 0

    @property
    def hurry(self) -> bool:
        return self.count > 1


def _stack_from_env() -> Stack:
    return Stack(
        actions_port=int(os.environ.get("ACTIONS_PORT", 5055)),
        rasa_port=int(os.environ.get("RASA_PORT", 5005)),
        hub_port=int(os.environ.get("HUB_PORT", 8000)),
        rasa_token=os.environ.get("RASA_TOKEN") or new_token(),
        log_dir=ROOT / os.environ.get("FAQBOT_LOG_DIR", str(LOGS)),
    )


def _banner(stack: Stack) -> str:
    return f"""
Ready.
  demo shop with the chat widget  {stack.hub_url}/
  agents' desk                    {stack.hub_url}/desk
  reports (supervisors)           {stack.hub_url}/desk/reports
  hub (customer and agent APIs)   {stack.hub_url}/api
  Rasa server                     {stack.rasa_url}
  action server                   {stack.actions_url}

Try it:
  curl -s -X POST {stack.hub_url}/api/conversations
  (then POST {{"text": "jak zwrócić towar?"}} to /api/conversations/<id>/messages
   with the header 'Authorization: Bearer <token>'; see README.md)
Agents: .venv/bin/faqbot agent create NAME   (then log in at {stack.hub_url}/desk)
Ctrl-C stops everything."""


def _supervise(supervisor: Supervisor, stack: Stack, signals: StopSignals) -> None:
    """Until a stop signal: restart what dies, print the banner once all are ready."""
    announced = False
    while not signals.requested:
        supervisor.check()
        if not announced and supervisor.all_ready():
            say(_banner(stack))
            announced = True
        time.sleep(0.2)


def _stop_with_parent() -> None:
    """`make run` killed (not Ctrl-C, which reaches the whole process group) leaves the
    launcher orphaned, and its children running: have the kernel send it SIGTERM when
    its parent goes, which the signal handlers turn into an orderly stop."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, ctypes.c_ulong(signal.SIGTERM))


def main() -> int:
    signals = StopSignals().install()  # first, so no signal can raise anywhere below
    _stop_with_parent()
    stack = _stack_from_env()
    from handoff.config import database_url
    from handoff.db import migrate

    migrate(database_url())  # before the hub's workers start, so they never race on it
    if signals.requested:
        return 0
    say(f"starting the action server, Rasa and the hub (logs in {stack.log_dir}/) ...")
    try:
        stack.launch()
    except (RuntimeError, OSError) as exc:
        print(f"could not start: {exc}", file=sys.stderr, flush=True)
        return 1
    for service in stack.services:
        say(f"  {service.name} started (pid {service.pid})")
    supervisor = Supervisor(stack.services)
    try:
        _supervise(supervisor, stack, signals)
    finally:
        say("\nstopping ... (again to kill at once)")
        supervisor.stop(hurry=lambda: signals.hurry)
        say("stopped.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
