"""Requests to a running ``runstack`` from another process, and their answers.

The requester writes ``RUN_DIR/requests/<name>.json`` and sends SIGUSR1 to the runstack process
(its pid is in ``RUN_DIR/stack.pid``). runstack carries the request out in its main thread,
appending what it does to ``<name>.log``, and writes ``<name>.done``: ``{"ok", "message"}``. The
requester prints the log as it grows and returns the answer; it stops waiting if runstack dies.
"""

import functools
import json
import os
import secrets
import signal
import time
from pathlib import Path

from .children import StackError
from .keys import write_private
from .status import stack_pid

REQUESTS = "requests"


def runstack_pid(run_dir):
    """The pid of the runstack process running from ``run_dir``, or None: another program that runs
    a stack there (a test, say) would die of SIGUSR1."""
    pid = stack_pid(run_dir)
    try:
        return pid if pid and b"runstack" in Path(f"/proc/{pid}/cmdline").read_bytes() else None
    except FileNotFoundError:  # it has just exited
        return None


def send(run_dir, request, show):
    """Hand ``request`` (a dict) to the runstack of ``run_dir``, ``show`` each line of its progress,
    and return its answer ``{"ok", "message"}``. StackError when no runstack runs there or it stops."""
    pid = runstack_pid(run_dir)
    if pid is None:
        raise StackError(f"no runstack is running from {run_dir}")
    folder = Path(run_dir) / REQUESTS
    folder.mkdir(exist_ok=True)
    base = folder / f"{time.time_ns()}-{secrets.token_hex(3)}"
    log, done = base.with_suffix(".log"), base.with_suffix(".done")
    write_private(base.with_suffix(".json"), json.dumps(request))
    os.kill(pid, signal.SIGUSR1)
    shown = 0
    try:
        while True:
            finished = done.exists()  # before reading the log, so that no last line is missed
            if log.exists():
                text = log.read_text()
                complete = text[: text.rfind("\n") + 1]
                for line in complete[shown:].splitlines():
                    show(line)
                shown = len(complete)
            if finished:
                return json.loads(done.read_text())
            if runstack_pid(run_dir) != pid:
                raise StackError(f"runstack (pid {pid}) stopped before it answered")
            time.sleep(0.2)
    finally:
        log.unlink(missing_ok=True)
        done.unlink(missing_ok=True)


def pending(run_dir):
    """The request files waiting in ``run_dir``, oldest first."""
    return sorted((Path(run_dir) / REQUESTS).glob("*.json"))


def answer(path, carry_out):
    """Carry out the request in ``path`` with ``carry_out(request, progress)``, which returns a
    message or raises StackError; write the log and the answer beside it."""
    request = json.loads(path.read_text())
    path.unlink()
    with open(path.with_suffix(".log"), "a", buffering=1) as log:  # line-buffered: the requester tails it
        try:
            result = {"ok": True, "message": carry_out(request, functools.partial(print, file=log))}
        except StackError as error:
            result = {"ok": False, "message": str(error)}
        except Exception as error:  # a failed request must not stop the stack: the requester hears why
            result = {"ok": False, "message": f"{type(error).__name__}: {error}"}
    write_private(path.with_suffix(".done"), json.dumps(result))
    return result
