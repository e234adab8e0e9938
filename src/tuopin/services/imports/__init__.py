"""Importing registry files (CLI and web uploads) and loading the synthetic registry."""
