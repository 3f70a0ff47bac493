#!/usr/bin/env python
"""Django's command-line utility. The session profile defaults to ``db``.

``runserver`` is the development server, so it runs with ``DEBUG`` on unless ``DEBUG`` says
otherwise: pages then link static files by their plain names and runserver serves them from
``static/`` as they are, with no ``collectstatic`` first (README, "Quickstart"). Only that command:
every other one, ``runstack`` and the servers it starts among them, honours ``DEBUG`` as given
(default off).
"""

import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.db")
    if sys.argv[1:2] == ["runserver"]:
        os.environ.setdefault("DEBUG", "true")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
