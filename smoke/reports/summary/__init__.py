"""The Markdown job summary: a Jinja template, shipped precompiled."""
