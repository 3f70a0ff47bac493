"""The session lab's experiment matrix, behind ``manage.py sessionlab``.

Real stacks (``shop.stack.stack.Stack``), a scripted shopper talking to nginx, seven
scenarios per session profile, and a report of what every request saw::

    from shop.lab.experiments.runner import Options, run_lab
    from shop.lab.experiments.scenarios import select

    report, paths = run_lab(Options(profiles=["locmem", "db"], scenarios=select("1")), sys.stdout)

``report`` (the results' location and format) imports nothing of the stack, so the web
pages can use it.
"""
