"""The application's own reading of a Chat Completions answer (an example).

chat-smoke calls ``extract_reply`` in a child Python process with the decoded response
body (for a stream: the assembled final message, in the same non-stream shape) and checks
the text it returns against ``expect``. If this function raises, the gate fails in
category ``protocol`` and names the line here that raised.
"""

from __future__ import annotations

from typing import Any


def extract_reply(body: dict[str, Any]) -> str:
    message = body["choices"][0]["message"]
    calls = message.get("tool_calls") or []
    if calls:  # the application dispatches the first tool call
        return f"tool:{calls[0]['function']['name']}"
    content = message["content"]
    if not isinstance(content, str):
        raise TypeError(f"content is {type(content).__name__}, the app expects a string")
    return content.strip()
