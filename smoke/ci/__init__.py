"""CI platforms: each one's console, masking and publishing (GitHub's today)."""
