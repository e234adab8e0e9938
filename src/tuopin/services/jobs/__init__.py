"""Background jobs: long work queued in the store and run by `tuopin worker`."""
