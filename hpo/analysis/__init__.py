"""What a study found: read-only views of its trials.

The best trial, the incumbent trajectory and the DataFrame of a study; they only read trials, so
they work on a running or finished study and on a copied journal.
"""

from hpo.analysis.views import best_trial, dataframe, incumbent_trajectory

__all__ = ["best_trial", "dataframe", "incumbent_trajectory"]
