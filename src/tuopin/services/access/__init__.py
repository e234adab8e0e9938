"""Who may do what: principals, the policy, accounts, sessions, throttles and masking."""
