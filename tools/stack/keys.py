"""The stack's SECRET_KEY in its run folder: the key, a public id for it, and the keys rotated out.

``secret_key`` (mode 600) holds the key the servers sign with, ``secret_key.id`` its id: eight
random hex digits made with the key, so ``/lab/probe`` can name the key without saying anything
about it (any function of the key would let whoever sees it test guesses of the key).
``secret_key.previous`` (mode 600) holds the keys rotated out, each with its id, when it stopped
signing and until when the servers still accept it (``SECRET_KEY_FALLBACKS``): until then
sessions it signed may still be alive. Everything is kept, so a full stop and start keeps them.
"""

import json
import os
import secrets
import time
from dataclasses import asdict, dataclass
from pathlib import Path

KEY_FILE = "secret_key"
ID_FILE = "secret_key.id"
PREVIOUS_FILE = "secret_key.previous"


@dataclass
class Key:
    key: str
    id: str
    retired: float = 0.0  # when it stopped signing (time.time()); 0 while it signs
    until: float = 0.0  # accepted as a fallback until then

    @classmethod
    def new(cls):
        return cls(secrets.token_urlsafe(50), secrets.token_hex(4))


def write_private(path, text):
    """Write ``text`` to ``path`` readable by its owner only, from the first byte on; a reader sees
    the whole text or none (the old file, or no file)."""
    temporary = path.with_name(path.name + ".new")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(text)
    temporary.replace(path)


class KeyRing:
    def __init__(self, run_dir):
        self.run_dir = Path(run_dir)

    def current(self):
        """The signing key, made (with its id) the first time a run folder needs one."""
        path = self.run_dir / KEY_FILE
        if not path.exists():
            write_private(path, Key.new().key)
        id_path = self.run_dir / ID_FILE
        if not id_path.exists():  # also for a run folder from before keys had ids
            id_path.write_text(secrets.token_hex(4) + "\n")
        return Key(path.read_text().strip(), id_path.read_text().strip())

    def previous(self):
        """The keys rotated out that are still accepted, newest first."""
        try:
            keys = [Key(**key) for key in json.loads((self.run_dir / PREVIOUS_FILE).read_text())]
        except FileNotFoundError:
            return []
        return [key for key in keys if key.until > time.time()]

    def replace(self, new, accepted_for):
        """``new`` signs from now on; the current key is accepted for ``accepted_for`` seconds more."""
        now = time.time()
        old = self.current()
        old.retired, old.until = now, now + accepted_for
        previous = [old, *(key for key in self.previous() if key.key != new.key)]
        write_private(self.run_dir / PREVIOUS_FILE, json.dumps([asdict(key) for key in previous], indent=2))
        write_private(self.run_dir / KEY_FILE, new.key)
        (self.run_dir / ID_FILE).write_text(new.id + "\n")

    def id_of(self, key):
        """The id of a key this run folder knows (signing or rotated out), else ""."""
        known = self.previous()
        if (self.run_dir / KEY_FILE).exists():
            known.append(self.current())
        return next((k.id for k in known if secrets.compare_digest(k.key, key)), "")
