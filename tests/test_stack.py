"""The launcher (scripts/stack.py) keeps the stack up and takes it down cleanly:

- a process that dies is restarted on its own, with backoff, while the others keep running;
- two stop signals in a row still stop every child, whole process groups included;
- children do not outlive a launcher killed with SIGKILL;
- any Rasa token works, one starting with `-` included, and none shows on a command line.

Real processes throughout. Two stacks start, one after the other: the launcher run as
`make run` runs it, then one shared by the tests that kill its parts.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from scripts.stack import Backoff, Service, Stack, Supervisor, free_port, group_members, new_token, port_is_free

from .conftest import ROOT, SAMPLE_KB

pytestmark = pytest.mark.e2e

UP_TIMEOUT = 240.0  # seconds for a whole stack to start on a busy 2-core machine
BACK_TIMEOUT = 120.0  # seconds for one killed process to answer again


def _wait_until(condition, timeout: float, what: str, tick=lambda: None) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not {what} after {timeout:.0f} s"
        tick()
        time.sleep(0.05)


def _cmdlines_containing(text: str) -> list[int]:
    """PIDs of every process whose command line contains `text`."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if text.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _python_service(tmp_path: Path, code: str) -> Service:
    return Service("crasher", [sys.executable, "-c", code], free_port(), "/", {}, tmp_path / "crasher.log")


# --- the supervisor's rules, on small processes ----------------------------------------


def test_backoff_doubles_up_to_its_cap():
    assert [Backoff().delay(n) for n in range(1, 9)] == [1, 2, 4, 8, 16, 30, 30, 30]


def test_default_tokens_never_start_with_a_dash():
    assert not any(new_token().startswith("-") for _ in range(2000))


def test_a_crashing_process_is_restarted_with_growing_delays_then_from_one_second_after_a_stable_run(tmp_path):
    service = _python_service(tmp_path, "import sys; print('boom: no config', flush=True); sys.exit(3)")
    service.start()
    clock, lines = FakeClock(), []
    supervisor = Supervisor([service], log=lines.append, clock=clock)
    try:
        for expected in [1, 2, 4, 8, 16, 30, 30]:
            _wait_until(lambda: not service.alive(), 10, "exited")
            supervisor.check()
            assert supervisor.restart_delay(service) == expected
            assert "crasher" in lines[-1] and "exit code 3" in lines[-1] and "boom: no config" in lines[-1]
            dead_pid = service.pid
            clock.now += expected - 0.01
            supervisor.check()
            assert service.pid == dead_pid, "restarted before its backoff was over"
            clock.now += 0.01
            supervisor.check()
            assert service.pid != dead_pid and f"crasher restarted (pid {service.pid})" in lines[-1]

        service.command = [sys.executable, "-c", "import time; time.sleep(120)"]
        _wait_until(lambda: not service.alive(), 10, "exited")
        supervisor.check()
        clock.now += 30
        supervisor.check()
        clock.now += Backoff().stable_after  # up long enough: the next death starts from 1 s again
        supervisor.check()
        service.process.kill()
        _wait_until(lambda: not service.alive(), 10, "killed")
        supervisor.check()
        assert supervisor.restart_delay(service) == 1
        assert "killed by SIGKILL" in lines[-1]
    finally:
        supervisor.stop()
    assert not group_members(service.pid)


def test_children_do_not_outlive_a_launcher_killed_with_sigkill(tmp_path):
    code = (
        "import time; from pathlib import Path; from scripts.stack import Service\n"
        f"s = Service('sleeper', ['sleep', '600'], 1, '/', {{}}, Path({str(tmp_path / 'sleeper.log')!r}))\n"
        "s.start(); print(s.pid, flush=True); time.sleep(600)\n"
    )
    launcher = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    child = int(launcher.stdout.readline())
    try:
        assert group_members(child) == [child]
        launcher.kill()
        launcher.wait()
        _wait_until(lambda: not group_members(child), 10, "gone with its launcher")
    finally:
        launcher.stdout.close()
        if group_members(child):
            os.killpg(child, signal.SIGKILL)


# --- the launcher, run as `make run` runs it ---------------------------------------------


class Output:
    """A process's stdout, read by a thread so the pipe never fills."""

    def __init__(self, process: subprocess.Popen) -> None:
        self.process = process
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, line: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while line not in self.lines:
            assert self.process.poll() is None, f"the launcher exited ({self.process.returncode}):\n{self.text}"
            assert time.monotonic() < deadline, f"no {line!r} after {timeout:.0f} s:\n{self.text}"
            time.sleep(0.1)


def _launcher_env(tmp_path: Path, ports: dict[str, int]) -> dict[str, str]:
    kb_dir = tmp_path / "faq"
    shutil.copytree(SAMPLE_KB, kb_dir)
    return {
        **os.environ,
        **{name: str(port) for name, port in ports.items()},
        "DATABASE_URL": f"sqlite:///{tmp_path / 'hub.db'}",
        "FAQBOT_KB_DIR": str(kb_dir),
        "FAQBOT_KB_LAST_GOOD": "",  # a throwaway FAQ folder: keep no copies of it
        "FAQBOT_LOG_DIR": str(tmp_path / "logs"),
    }


def test_two_stop_signals_in_a_row_still_stop_every_child(tmp_path):
    ports = {"HUB_PORT": free_port(), "RASA_PORT": free_port(), "ACTIONS_PORT": free_port()}
    launcher = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "stack.py")],
        cwd=ROOT,
        env=_launcher_env(tmp_path, ports),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output = Output(launcher)
    children: dict[str, int] = {}
    try:
        output.wait_for("Ready.", UP_TIMEOUT)
        children = {name: int(pid) for name, pid in re.findall(r"^ +(.+) started \(pid (\d+)\)$", output.text, re.M)}
        assert set(children) == {"action server", "rasa", "hub"}, output.text
        assert all(group_members(pid) for pid in children.values())

        launcher.send_signal(signal.SIGINT)
        time.sleep(0.2)  # the second signal arrives while the first stop is under way
        launcher.send_signal(signal.SIGTERM)
        assert launcher.wait(timeout=60) == 0, output.text
        left = {name: group_members(pid) for name, pid in children.items()}
        busy = [name for name, port in ports.items() if not port_is_free(port)]
    finally:
        for pid in children.values():  # whatever a failure left behind
            if group_members(pid):
                os.killpg(pid, signal.SIGKILL)
        if launcher.poll() is None:
            launcher.kill()
            launcher.wait()
    assert not any(left.values()), f"left running: {left}\n{output.text}"
    assert not busy, f"ports still in use: {busy}"
    assert "stopped." in output.lines


def _alive(pid: int) -> bool:
    """Running, not a zombie waiting to be reaped by whoever adopted it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def test_a_launcher_whose_parent_dies_stops_every_child(tmp_path):
    """`make run` killed (not Ctrl-C): the launcher is told by the kernel and stops all."""
    ports = {"HUB_PORT": free_port(), "RASA_PORT": free_port(), "ACTIONS_PORT": free_port()}
    parent = subprocess.Popen(  # like make: a parent that stays while the launcher runs
        ["/bin/sh", "-c", f'"{sys.executable}" scripts/stack.py; echo launcher ended'],
        cwd=ROOT,
        env=_launcher_env(tmp_path, ports),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    output = Output(parent)
    children: dict[str, int] = {}
    launcher = None
    try:
        output.wait_for("Ready.", UP_TIMEOUT)
        children = {name: int(pid) for name, pid in re.findall(r"^ +(.+) started \(pid (\d+)\)$", output.text, re.M)}
        (launcher,) = [pid for pid in group_members(parent.pid) if pid != parent.pid and pid not in children.values()]
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 60
        while (_alive(launcher) or any(map(group_members, children.values()))) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _alive(launcher), output.text
        left = {name: group_members(pid) for name, pid in children.items()}
        busy = [name for name, port in ports.items() if not port_is_free(port)]
    finally:
        for pid in children.values():
            if group_members(pid):
                os.killpg(pid, signal.SIGKILL)
        if launcher is not None and _alive(launcher):
            os.kill(launcher, signal.SIGKILL)
    assert not any(left.values()), f"left running: {left}\n{output.text}"
    assert not busy, f"ports still in use: {busy}"


# --- one stack, kept up by a Supervisor that the tests drive -----------------------------


@pytest.fixture(scope="module")
def supervised(tmp_path_factory):
    from handoff.db import migrate

    tmp = tmp_path_factory.mktemp("stack")
    kb_dir = tmp / "faq"
    shutil.copytree(SAMPLE_KB, kb_dir)
    database_url = f"sqlite:///{tmp / 'hub.db'}"
    migrate(database_url)
    stack = Stack(
        hub_port=free_port(),
        rasa_token="-" + secrets.token_urlsafe(24),
        env={"FAQBOT_KB_DIR": str(kb_dir), "FAQBOT_KB_LAST_GOOD": "", "DATABASE_URL": database_url},
        log_dir=tmp / "logs",
    )
    stack.start(timeout=UP_TIMEOUT)
    lines: list[str] = []
    supervisor = Supervisor(stack.services, log=lines.append)
    yield stack, supervisor, lines
    supervisor.stop()


def test_rasa_takes_a_token_starting_with_a_dash_and_no_command_line_shows_it(supervised):
    stack, _, _ = supervised
    token = stack.rasa_token
    assert token.startswith("-")
    assert requests.get(f"{stack.rasa_url}/status", params={"token": token}, timeout=10).status_code == 200
    assert requests.get(f"{stack.rasa_url}/status", params={"token": token[1:]}, timeout=10).status_code == 401
    assert _cmdlines_containing(token) == []
    assert _cmdlines_containing(token[1:]) == []


@pytest.mark.parametrize("name", ["rasa", "action server", "hub"])
def test_a_killed_process_comes_back_and_the_others_keep_running(supervised, name):
    stack, supervisor, lines = supervised
    victim = next(s for s in stack.services if s.name == name)
    others = {s.name: s.pid for s in stack.services if s is not victim}
    old_pid = victim.pid

    killed_at = time.monotonic()
    os.kill(old_pid, signal.SIGKILL)
    _wait_until(lambda: victim.pid != old_pid and victim.ready(), BACK_TIMEOUT, f"{name} back", supervisor.check)
    took = time.monotonic() - killed_at
    print(f"\n{name}: killed -> ready again in {took:.1f} s")

    assert {s.name: s.pid for s in stack.services if s is not victim} == others
    assert all(s.alive() and s.ready() for s in stack.services)
    death = next(line for line in lines if line.startswith(f"{name} (pid {old_pid}) stopped unexpectedly"))
    assert "killed by SIGKILL" in death and "restarting it in 1 s" in death
    assert not group_members(old_pid), "the dead process's group was not cleaned up"
