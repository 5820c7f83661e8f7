"""The study's own model: what a trial, a decision, a method and a Study are.

Types, trials, verdicts and actions, the Searcher / Scheduler protocols, the method registry and
the journaled :class:`~hpo.core.study.Study` that ties them together.
"""
