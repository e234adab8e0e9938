"""Independent verification (第三方评估, 暗访督查): plans, reproducible draws, field lists,
findings, and the estimates that the county exit check takes."""
