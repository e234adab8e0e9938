"""The Alkire-Foster multidimensional poverty calculator (MPI.md): measures and inference.

``af_measures`` works on a deprivation matrix (the registry's MPI report); ``mpi_from_table``
on survey microdata, and ``mpi_from_file`` on a file (the ``tuopin mpi`` command), reading
only the columns in use; ``read_table`` reads CSV, XLSX or Parquet.
Standard errors come from the survey package's estimator (``tuopin.analytics.survey``).
"""

from tuopin.analytics.mpi.measures import TOLERANCE, af_measures, deprivation_scores
from tuopin.analytics.mpi.result import GroupResult, MpiResult
from tuopin.analytics.mpi.table import (
    deprivation_matrix,
    mpi_from_file,
    mpi_from_table,
    read_table,
)
from tuopin.analytics.survey import Coded, logit_ci, t_quantile

__all__ = [
    "TOLERANCE",
    "Coded",
    "GroupResult",
    "MpiResult",
    "af_measures",
    "deprivation_matrix",
    "deprivation_scores",
    "logit_ci",
    "mpi_from_file",
    "mpi_from_table",
    "read_table",
    "t_quantile",
]
