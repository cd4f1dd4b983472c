"""The version, on its own: every module that needs it imports it from here, not from the
package, so no module imports ``smoke`` (whose lazy exports name the whole library)."""

__version__ = "0.1.0"
