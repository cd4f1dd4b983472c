"""What a user writes instead of chat-smoke: the official SDK, the same request, the same
"pong" check. Run from the bench's scratch venv."""

import os
import sys

from openai import OpenAI

client = OpenAI(base_url=os.environ["BENCH_BASE_URL"], api_key=os.environ["COMETAPI_API_KEY"],
                timeout=30, max_retries=2)
reply = client.chat.completions.create(
    model=os.environ["BENCH_MODEL"],
    messages=[{"role": "system", "content": "Reply with exactly the word: pong"},
              {"role": "user", "content": "ping"}],
    temperature=0,
    max_tokens=16,
)
text = reply.choices[0].message.content or ""
sys.exit(0 if "pong" in text.lower() else 1)
