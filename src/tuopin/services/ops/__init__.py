"""Running tuopin: backup and restore, health, housekeeping."""
