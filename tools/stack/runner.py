"""manage.py commands run with the servers' settings and database, from the stack's process."""

import json
import subprocess
import sys

from django.conf import settings

from .children import StackError


class ManagePy:
    """Mixed into ``Stack``: run manage.py as its servers would (``self.env``)."""

    def manage(self, *args):
        """Run a manage.py command with the servers' settings and database; returns its stdout."""
        result = subprocess.run(
            [sys.executable, str(settings.BASE_DIR / "manage.py"), *args],
            env=self.env,
            cwd=settings.BASE_DIR,
            capture_output=True,
            text=True,
        )
        if result.returncode:
            raise StackError(f"manage.py {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
        return result.stdout

    def python(self, code):
        """Run Python ``code`` with the servers' settings and database; its last line, as JSON."""
        return json.loads(self.manage("shell", "--no-imports", "-c", code).strip().splitlines()[-1])
