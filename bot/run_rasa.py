"""`rasa <args>` with the API token taken from the environment (RASA_TOKEN), for the launcher
(scripts/stack.py): `.venv-rasa/bin/python bot/run_rasa.py run --enable-api ...`.

Why not `rasa run --auth-token TOKEN`:
- a token starting with `-` (1 in 64 of `secrets.token_urlsafe`, or a user's) is taken by
  argparse for an option, and Rasa refuses to start;
- every user on the machine can read a command line (`ps`, /proc/<pid>/cmdline).

Here the token goes into this process's own `sys.argv` as `--auth-token=TOKEN` (the `=` form
lets argparse take any value) and Rasa's CLI (`rasa.__main__:main`, what `.venv-rasa/bin/rasa`
calls) runs in this very process: /proc/<pid>/cmdline keeps the original arguments.

Before Rasa starts, bot/action_calls.py patches what it sends to the action server and
bot/short_memory.py how much of a conversation it keeps (see there why): a reply must not
cost more as the conversation grows.
"""

from __future__ import annotations

import os
import sys


def rasa_argv(args: list[str], token: str) -> list[str]:
    """Rasa's command line: `args` with the token appended in the `--option=value` form."""
    return ["rasa", *args, f"--auth-token={token}"]


def main() -> None:
    token = os.environ.get("RASA_TOKEN", "")
    if not token:
        sys.exit("run_rasa.py: RASA_TOKEN is not set (the launcher sets it; without a token Rasa's API is open)")
    # Like the `rasa` console script: bot/ itself is not an import root (Rasa adds the cwd).
    if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
        sys.path.pop(0)
    sys.argv = rasa_argv(sys.argv[1:], token)
    # One TensorFlow thread for Rasa's small models: the action server and the hub need the
    # other cores, and idle TensorFlow threads spinning for a core cost more than they give.
    os.environ.setdefault("TF_INTRA_OP_PARALLELISM_THREADS", "1")
    os.environ.setdefault("TF_INTER_OP_PARALLELISM_THREADS", "1")
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the project, for bot.*
    from bot import action_calls, short_memory

    action_calls.install()  # lean action calls: the current turn, domain JSON made once, kept-open connections
    short_memory.install()  # Rasa keeps the last turns of a conversation (the hub keeps the transcript)
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
