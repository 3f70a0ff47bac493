"""The session lab's experiment matrix, behind ``manage.py sessionlab``.

Real stacks (``tools.stack.stack.Stack``), scripted shoppers talking to nginx, thirteen scenarios
per session profile (``scenarios``), and a report of what every request saw (``matrix``)::

    from tools.experiments.matrix import Options, run_lab
    from tools.experiments.scenarios import select

    report, paths = run_lab(Options(profiles=["locmem", "db"], scenarios=select("1")), sys.stdout)
"""
