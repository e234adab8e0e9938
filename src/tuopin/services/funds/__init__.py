"""The books of funds: balances, a project's books, the village disclosure and the checks."""
