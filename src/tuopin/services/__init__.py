"""Use cases: the only place where storage, analytics, io and domain meet."""
