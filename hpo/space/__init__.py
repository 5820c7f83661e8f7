"""What can be tried: parameters, the search space and its conversion from / to Ray Tune.

Parameter types (float, int, categorical, ordinal, constant), the :class:`SearchSpace` that
samples, validates and serialises configs, and Ray Tune domain conversion.
"""

from hpo.space.conditions import Condition
from hpo.space.params import Categorical, Constant, Float, Int, Ordinal, Param, param_from_json
from hpo.space.search_space import SearchSpace

__all__ = [
    "Categorical", "Condition", "Constant", "Float", "Int", "Ordinal", "Param", "param_from_json",
    "SearchSpace"
]
