"""Steps run once before the planned checks: the spend guard, /models, the wire probe."""
