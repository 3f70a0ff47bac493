"""manage.py commands run with the servers' settings and database, from the stack's process."""

import json
import subprocess
import sys

from django.conf import settings

from .children import StackError

END_OF_COMMAND = "\x1e"  # ASCII's record separator, after each command's output
# manage.py's main() for each command in argv[1] (JSON), in one process (run in BASE_DIR).
MANAGE_ALL = f"""
import json, sys
import manage
for argv in json.loads(sys.argv[1]):
    sys.argv = ["manage.py", *argv]
    manage.main()
    print(end={END_OF_COMMAND!r}, flush=True)
"""


class ManagePy:
    """Mixed into ``Stack``: run manage.py as its servers would (``self.env``)."""

    def manage(self, *args):
        """Run a manage.py command with the servers' settings and database; returns its stdout."""
        return self.manage_all([args])[0]

    def manage_all(self, commands):
        """Run manage.py commands (argument lists) one after the other in one Python process, which
        starts Django once, with the servers' settings and database; returns the stdout of each."""
        result = subprocess.run(
            [sys.executable, "-c", MANAGE_ALL, json.dumps([list(command) for command in commands])],
            env=self.env,
            cwd=settings.BASE_DIR,
            capture_output=True,
            text=True,
        )
        *outputs, rest = result.stdout.split(END_OF_COMMAND)
        if result.returncode or len(outputs) < len(commands):  # (a command that exited early)
            failed = " ".join(commands[len(outputs)])
            raise StackError(f"manage.py {failed} failed:\n{rest}{result.stderr}")
        return outputs

    def python(self, code):
        """Run Python ``code`` with the servers' settings and database; its last line, as JSON."""
        return json.loads(self.manage("shell", "--no-imports", "-c", code).strip().splitlines()[-1])
