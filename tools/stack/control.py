"""How another process asks the running ``runstack`` for something: a Unix socket in the run folder.

runstack listens on ``RUN_DIR/control.sock`` (``multiprocessing.connection``, AF_UNIX) while its
stack runs; only a process that can read ``RUN_DIR/control.key`` (mode 600, new at every start)
gets through the handshake. A request is one message, ``{"action": ..., **arguments}``; the reply
is any number of ``{"progress": line}`` messages, then ``{"ok": bool, "answer": ...}``: what the
operation returned (words, or the status), or why it failed. Every message is JSON, never pickle.

``queries`` (the status) are answered at once, by the connection's own thread. Every other request
waits in ``todo`` for the thread that started the stack: a child gets a parent-death signal when
the thread that spawned it exits (``children.command``), so only that thread may start servers
again. A socket file left by a runstack that was killed refuses connections: the requester hears
that no runstack runs, and the next start replaces it.
"""

import contextlib
import json
import queue
import secrets
import socket
import threading
from multiprocessing import AuthenticationError
from multiprocessing.connection import Client, Listener, answer_challenge, deliver_challenge
from pathlib import Path

from .children import StackError
from .keys import write_private

SOCKET = "control.sock"
KEY_FILE = "control.key"
FAMILY = "AF_UNIX"
MAX_PATH = 107  # bytes in a Unix socket's path (Linux's sockaddr_un)


def ask(run_dir, request, show):
    """Hand ``request`` (a dict) to the runstack of ``run_dir``, ``show`` each line of its progress,
    and return its reply ``{"ok", "answer"}``. StackError when no runstack runs there or it stops
    before it answers."""
    run_dir = Path(run_dir)
    try:
        authkey = (run_dir / KEY_FILE).read_bytes()
        connection = Client(str(run_dir / SOCKET), FAMILY, authkey=authkey)
    except (FileNotFoundError, ConnectionRefusedError):  # none ever ran, or a killed one's socket file
        raise StackError(f"no runstack is running from {run_dir}") from None
    except (OSError, EOFError, AuthenticationError) as error:
        raise StackError(f"cannot reach the runstack of {run_dir}: {error!r}") from None
    with connection:
        connection.send_bytes(json.dumps(request).encode())
        while True:
            try:
                message = json.loads(connection.recv_bytes())
            except (EOFError, OSError):
                raise StackError(f"the runstack of {run_dir} stopped before it answered") from None
            if "progress" not in message:
                return message
            show(message["progress"])


class Request:
    """One request from another process, and the connection its progress and answer go back over."""

    def __init__(self, connection, message):
        self.connection, self.message = connection, message

    def progress(self, line):
        self._send({"progress": line})

    def answer(self, carry_out):
        """Carry the request out with ``carry_out(message, progress)``, which returns the answer or
        raises StackError with the reason; send the reply and return it."""
        try:
            reply = {"ok": True, "answer": carry_out(self.message, self.progress)}
        except StackError as error:
            reply = {"ok": False, "answer": str(error)}
        except Exception as error:  # a failed request must not stop the stack: the requester hears why
            reply = {"ok": False, "answer": f"{type(error).__name__}: {error}"}
        self._send(reply)
        self.connection.close()
        return reply

    def _send(self, message):
        with contextlib.suppress(OSError):  # the requester has gone (Ctrl-C, say): carry on regardless
            self.connection.send_bytes(json.dumps(message).encode())


def refuse(message, progress):
    raise StackError("the stack stopped before it got to this request")


class ControlServer:
    """runstack's end of the socket, open for a ``with`` block while the stack runs."""

    def __init__(self, run_dir, queries, stopped):
        """``queries``: {action: function} whose result is the answer, given at once; ``stopped``:
        the stack's event, set once it has stopped, which ends ``todo`` with None."""
        self.path, self.key_path = Path(run_dir) / SOCKET, Path(run_dir) / KEY_FILE
        self.queries, self.stopped = queries, stopped
        self.todo = queue.SimpleQueue()  # Requests (and what the owner adds), then None; put() is reentrant
        self._authkey = secrets.token_hex(32).encode()
        self._listener = self._accepting = None
        self._closing = False

    def __enter__(self):
        if len(str(self.path).encode()) > MAX_PATH:
            raise StackError(f"{self.path} is too long for a Unix socket's path; choose a shorter --run-dir")
        write_private(self.key_path, self._authkey.decode())
        # The stack has claimed the run folder (stack.pid), so a socket file there is a killed one's.
        self.path.unlink(missing_ok=True)
        try:
            # No authkey here: each connection's thread does the handshake (``_receive``), so that a
            # requester that never answers holds up nobody else.
            self._listener = Listener(str(self.path), FAMILY)
        except OSError as error:
            self.key_path.unlink(missing_ok=True)
            raise StackError(f"cannot listen on {self.path}: {error}") from None
        self._accepting = threading.Thread(target=self._accept, name="control", daemon=True)
        self._accepting.start()
        threading.Thread(target=self._end_when_stopped, name="control-end", daemon=True).start()
        return self

    def __exit__(self, *exc_info):
        self._closing = True
        with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX) as wake:
            wake.connect(str(self.path))  # accept() returns and sees _closing
        self._accepting.join(timeout=5)
        self._listener.close()  # and removes the socket file
        self.key_path.unlink(missing_ok=True)
        with contextlib.suppress(queue.Empty):
            while True:
                if isinstance(item := self.todo.get_nowait(), Request):
                    item.answer(refuse)

    def _end_when_stopped(self):
        self.stopped.wait()
        self.todo.put(None)

    def _accept(self):
        while not self._closing:
            try:
                connection = self._listener.accept()
            except OSError:  # a requester gone before it was accepted
                continue
            if self._closing:
                connection.close()
            else:
                threading.Thread(target=self._receive, args=(connection,), daemon=True).start()

    def _receive(self, connection):
        try:
            deliver_challenge(connection, self._authkey)  # as Listener(authkey=...) would: both ways
            answer_challenge(connection, self._authkey)
            message = json.loads(connection.recv_bytes())
        except (AuthenticationError, EOFError, OSError, ValueError):  # without the key, or gone
            connection.close()
            return
        request = Request(connection, message)
        query = self.queries.get(message.get("action")) if isinstance(message, dict) else None
        if query:
            request.answer(lambda message, progress: query())
        else:
            self.todo.put(request)
