"""Reports: incidence and MPI by region, and the dashboard's figures."""
