// The application's own reading of a Chat Completions answer, in Node (an example).
// chat-smoke runs `node parse.js` with the response body on standard input and checks
// what it prints; a non-zero exit fails the gate in category `protocol`, with the tail
// of standard error.
"use strict";

let raw = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => { raw += chunk; });
process.stdin.on("end", () => {
  const body = JSON.parse(raw);
  const message = body.choices[0].message;
  if (message.tool_calls && message.tool_calls.length > 0) {
    process.stdout.write(`tool:${message.tool_calls[0].function.name}\n`);
    return;
  }
  if (typeof message.content !== "string") {
    console.error(`content is ${typeof message.content}, the app expects a string`);
    process.exit(1);
  }
  process.stdout.write(message.content.trim() + "\n");
});
