"""How trials get run: executors, the handle an objective reports through, and the loop.

In-process and local-process executors, the trial handle, the ask / run / tell loop with its
limits and progress line, and the one-call :func:`~hpo.execution.tune.tune`.
"""
