"""``manage.py soak``: shoppers shop while a seeded schedule of faults hits the stack, and a
checker reads what happened afterwards.

- ``history``: every request and every fault, with its start, end and answer (or none), as JSON.
- ``carts``, ``checker``: the verdicts, pure functions of a history and a database snapshot.
- ``shoppers``: what a soak shopper does, on the project's one client (``tools.client``).
- ``faults``, ``schedule``: the fault kinds (each through the stack's own operations), which a
  stack supports, and the seeded plan of them.
- ``run``: one soak from start to stop; ``report``: the HTML page with its timeline.
"""
