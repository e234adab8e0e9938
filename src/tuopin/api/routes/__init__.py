"""The API's routers, one per part of tuopin; each calls services and nothing else."""
