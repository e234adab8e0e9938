"""The registry (建档立卡): lookups, registration, edits, history and exports."""
