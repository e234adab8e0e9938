"""Analytics on Ibis: assessment, incidence, Alkire-Foster MPI; engines are interchangeable."""
