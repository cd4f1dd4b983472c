"""Everything printed or written passes through here: redaction, safe text, the console."""
