"""Pure rules and types of the registry: no I/O, no clock, no database."""
