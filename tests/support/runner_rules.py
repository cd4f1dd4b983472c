"""How the GitHub runner reads what a step writes, re-implemented for the tests.

- Workflow commands: actions/runner ``src/Runner.Common/ActionCommand.cs`` (``TryParseV2``:
  the line, with leading white space trimmed, starts with ``::``; ``TryParse``: ``##[``
  anywhere in the line) and ``src/Runner.Worker/ActionCommandManager.cs``
  (``::stop-commands::TOKEN`` ignores every command until ``::TOKEN::``; names ignore case).
- ``GITHUB_OUTPUT``: ``src/Runner.Worker/FileCommandManager.cs``, ``EnvFileKeyValuePairs``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# The runner's registered command extensions (ActionCommandManager and its extensions).
REGISTERED = {
    "add-mask", "add-matcher", "add-path", "debug", "echo", "endgroup", "error", "group",
    "internal-set-repo-path", "notice", "remove-matcher", "save-state", "set-env",
    "set-output", "warning", "stop-commands",
}


@dataclass
class Command:
    name: str
    properties: dict[str, str] = field(default_factory=dict)
    data: str = ""


def _unescape(text: str, prop: bool) -> str:
    pairs = [("%0D", "\r"), ("%0A", "\n")]
    if prop:
        pairs += [("%3A", ":"), ("%2C", ",")]
    pairs.append(("%25", "%"))
    for escaped, plain in pairs:
        text = text.replace(escaped, plain)
    return text


def parse_line(line: str, registered: set[str]) -> Command | None:
    """One line as the runner parses it (V2, then the legacy ``##[`` form)."""
    names = {n.lower() for n in registered}
    trimmed = line.lstrip()
    if trimmed.startswith("::"):
        end = trimmed.find("::", 2)
        if end >= 0:
            info = trimmed[2:end]
            name, _, props = info.partition(" ")
            if name.lower() in names:
                cmd = Command(name.lower(), data=_unescape(trimmed[end + 2:], False))
                for part in props.strip().split(","):
                    key, eq, value = part.partition("=")
                    if eq and key and value:
                        cmd.properties[key] = _unescape(value, True)
                return cmd
    start = line.find("##[")
    if start >= 0:
        close = line.find("]", start)
        if close >= 0:
            name = line[start + 3:close].split(" ")[0]
            if name.lower() in names:
                return Command(name.lower(), data=line[close + 1:])
    return None


def run_commands(log: str) -> list[Command]:
    """The commands the runner would carry out for ``log`` (stdout, or stderr)."""
    registered = set(REGISTERED)
    token: str | None = None
    done: list[Command] = []
    for line in log.splitlines():
        cmd = parse_line(line, registered)
        if cmd is None:
            continue
        if token is not None:
            if cmd.name == token.lower():
                registered.discard(token)
                token = None
            continue
        if cmd.name == "stop-commands":
            token = cmd.data
            registered.add(token)
            continue
        done.append(cmd)
    return done


def parse_output_file(text: str) -> list[tuple[str, str]]:
    """``GITHUB_OUTPUT`` as the runner reads it; raises ValueError where the runner fails
    the step. Pairs in order (a repeated name is a finding, not merged)."""
    pairs: list[tuple[str, str]] = []
    lines = text.split("\n")
    # The runner's ReadLine: a final piece without "\n" is still a line.
    if lines and lines[-1] == "":
        lines.pop()
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line:
            continue
        eq, heredoc = line.find("="), line.find("<<")
        if eq >= 0 and (heredoc < 0 or eq < heredoc):
            key, value = line.split("=", 1)
            pairs.append((key, value))
        elif heredoc >= 0:
            key, delimiter = line.split("<<", 1)
            if not key or not delimiter:
                raise ValueError(f"Invalid format {line!r}")
            value_lines: list[str] = []
            while True:
                if i >= len(lines):
                    raise ValueError(f"Matching delimiter not found {delimiter!r}")
                current = lines[i]
                i += 1
                if current == delimiter:
                    break
                value_lines.append(current)
            pairs.append((key, "\n".join(value_lines)))
        else:
            raise ValueError(f"Invalid format {line!r}")
    return pairs
