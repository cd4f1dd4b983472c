"""The browser suite's helpers (tests/browser holds its tests): headless Chromium with
GitHub's stylesheet, and the summaries it renders."""
