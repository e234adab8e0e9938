"""Exits (退出): a household's procedure, and the village and county checks."""
