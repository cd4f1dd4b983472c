"""HTTP with bounds: transport, classification, parsing, SSE, retries, the deadline."""
