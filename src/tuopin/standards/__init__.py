"""Poverty standards as data: TOML files, their expression language, and loading them."""
