"""Design-based estimation (R's survey package): one estimator for tuopin.

``estimate`` gives a mean or proportion and a total, for the whole sample and its domains,
with Taylor-linearised standard errors, confidence intervals and design effects;
``DomainVariance`` is the variance engine under it (also used by the Alkire-Foster MPI);
``read_table`` reads a CSV, XLSX or Parquet file of survey microdata.
"""

from tuopin.analytics.survey.design import (
    Coded,
    Design,
    LonelyPsu,
    build_design,
    code_values,
    compact,
)
from tuopin.analytics.survey.estimate import estimate
from tuopin.analytics.survey.result import DomainEstimate, Statistic, SurveyEstimate
from tuopin.analytics.survey.tdist import logit_ci, t_quantile
from tuopin.analytics.survey.variance import DomainVariance

__all__ = [
    "Coded",
    "Design",
    "DomainEstimate",
    "DomainVariance",
    "LonelyPsu",
    "Statistic",
    "SurveyEstimate",
    "build_design",
    "code_values",
    "compact",
    "estimate",
    "logit_ci",
    "t_quantile",
]
