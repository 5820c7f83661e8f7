"""How trials get run: executors, the handle an objective reports through, and the loop.

In-process and local-process executors (:mod:`~hpo.execution.executors`,
:mod:`~hpo.execution.pool`), the trial handle, the ask / run / tell loop with its limits and
progress line, segment time limits (:mod:`~hpo.execution.deadline`), the guard against trials
that keep killing their process (:mod:`~hpo.execution.relaunch`), and the one-call
:func:`~hpo.execution.tune.tune`.
"""
