"""Extra request headers (``--header "Name: value"``), auth styles and the User-Agent.

A header's value may reference environment variables as ``${VAR}``; the expanded value
is what is sent, the template is what is shown (and what the curl reproduction uses).
Values of headers whose names look secret are masked in every output, even when written
literally (issue 13).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from smoke.config import nearmiss
from smoke.errors import ConfigError
from smoke.output import redact

AUTHORIZATION = "Authorization"
NO_AUTH = "none"
# RFC 9110 token: the characters a field name may hold.
# Anchored with \A…\Z: "$" would also match before a final line break ("X-Foo\n").
_NAME = re.compile(r"\A[!#$%&'*+.^_`|~0-9A-Za-z-]+\Z")
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
# Line breaks, NUL and other control characters (a tab is allowed) would split the
# request or be refused by the HTTP client after the gate started.
_BAD_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
# Secret-looking names go by their words (x-api-key, X-Auth-Token, Ocp-Apim-Subscription-Key,
# Cookie), not by substring: "x-portkey-provider" holds "key" but routes, it is no secret.
_SECRET_WORDS = frozenset({
    "authorization", "cookie", "key", "token", "secret", "password", "passwd", "credential",
    "credentials", "signature", "auth", "apikey",
})
_SECRET_ENDINGS = ("apikey", "token", "secret", "password")
_WORD = re.compile(r"[-_.]+")
# Expanded values shorter than this are not registered as secrets: masking a short word
# ("prod") everywhere would garble the output without protecting anything.
SECRET_MIN = 8
_UA_UNSAFE = re.compile(r"[^A-Za-z0-9._~+-]+")

_BAD_LINE = (
    "{where}: {line!r} is not a header; write it as curl does, \"Name: value\" "
    "(e.g. --header \"x-portkey-provider: openai\")"
)
_BAD_NAME = (
    "{where}: {name!r} is not a valid header name (letters, digits and !#$%&'*+.^_`|~- only)"
)
_CRLF = (
    "{where}: the value of {name} holds a line break or control character, which would "
    "split the request (header injection); give one line"
)
_NOT_LATIN1 = (
    "{where}: the value of {name} has characters a header cannot carry (HTTP header values "
    "are Latin-1); percent-encode them or use ASCII"
)
_UNSET = (
    "{where}: the header {name} uses ${{{var}}}, but {var} is not set (or empty) in the "
    "environment: export it, or give the value literally"
)
_CONFLICT = (
    "{where}: the header {name} conflicts with the API key, which chat-smoke sends as "
    "{auth}. Drop the header and let chat-smoke send the key, or pass --auth-header none "
    "(auth_header: none) when this header carries the credential. See docs/compatibility.md"
)
LITERAL_SECRET = (
    "--header {name}: a secret written on the command line is visible in the process list "
    "and the shell history; put it in a variable and write \"{name}: ${{VAR}}\""
)


@dataclass(frozen=True)
class Header:
    """One extra header: what is sent, and what may be shown."""

    name: str
    value: str  # expanded: what is sent
    template: str  # as written, with ${VAR} references
    secret: bool  # the name looks secret: the value is never shown
    source: str  # where it was given (--header, chat-smoke.yml: headers, ...)

    @property
    def variables(self) -> tuple[str, ...]:
        return tuple(_VAR.findall(self.template))

    def shown(self) -> str:
        """``Name: value`` for the console and the reports: the template when it references
        variables, a mask when the name looks secret."""
        if self.variables:
            return f"{self.name}: {self.template}"
        return f"{self.name}: {redact.MASK if self.secret else self.value}"


def secret_name(name: str) -> bool:
    """authorization, cookie, or a name with a word such as key, token or secret."""
    words = [w for w in _WORD.split(name.lower()) if w]
    return any(w in _SECRET_WORDS or w.endswith(_SECRET_ENDINGS) for w in words)


def parse_line(line: str, where: str) -> tuple[str, str]:
    """``"Name: value"`` (curl's syntax) as (name, value)."""
    name, sep, value = line.partition(":")
    if not sep or not name.strip():
        raise ConfigError(_BAD_LINE.format(where=where, line=line))
    return name.strip(), value.strip()


def parse_lines(lines: Iterable[str], where: str) -> dict[str, str]:
    """Several ``Name: value`` lines (blank lines skipped) as a mapping, in order."""
    found: dict[str, str] = {}
    for line in lines:
        if line.strip():
            name, value = parse_line(line.strip("\r"), where)
            found[name] = value
    return found


_TOO_MANY = (
    "{where}: the header {name} brings the secret header values over {limit}, as many as "
    "chat-smoke masks in one run; send fewer secret headers (values of ${{VAR}} "
    "references and of headers named like key, token or secret count)"
)


def _register(value: str, where: str, name: str) -> None:
    """A header's secret: masked in every output, in the user's bounded space (the key
    and chat-smoke's own credentials can never be pushed out by it)."""
    try:
        redact.register_user(value)
    except redact.Full:
        raise ConfigError(_TOO_MANY.format(where=where, name=name,
                                           limit=redact.USER_LIMIT)) from None


def _expand(name: str, template: str, env: Mapping[str, str], where: str) -> str:
    def value_of(match: re.Match[str]) -> str:
        var = match.group(1)
        value = env.get(var, "")
        if not value:
            raise ConfigError(_UNSET.format(where=where, name=name, var=var))
        if len(value) >= SECRET_MIN:
            _register(value, where, name)
        return value

    return _VAR.sub(value_of, template)


def build(
    given: Mapping[str, tuple[str, str]], env: Mapping[str, str], auth_header: str
) -> tuple[Header, ...]:
    """Validate and expand ``given`` (name → (template, where)) into headers."""
    built: list[Header] = []
    for name, (given_template, where) in given.items():
        template = given_template.strip()  # as curl does: no leading or trailing space
        if not _NAME.match(name):
            raise ConfigError(_BAD_NAME.format(where=where, name=name))
        if _BAD_VALUE.search(template):
            raise ConfigError(_CRLF.format(where=where, name=name))
        if auth_header.lower() != NO_AUTH and name.lower() in (
            AUTHORIZATION.lower(), auth_header.lower()
        ):
            raise ConfigError(_CONFLICT.format(where=where, name=name, auth=auth_header))
        value = _expand(name, template, env, where).strip()
        if _BAD_VALUE.search(value):
            raise ConfigError(_CRLF.format(where=where, name=name))
        try:
            value.encode("latin-1")
        except UnicodeEncodeError:
            raise ConfigError(_NOT_LATIN1.format(where=where, name=name)) from None
        secret = secret_name(name)
        if secret and len(value) >= SECRET_MIN:
            _register(value, where, name)
            # "Bearer sk-...": the credential alone, too (a server may echo only it).
            scheme, _, credential = value.partition(" ")
            if credential and len(credential) >= SECRET_MIN and scheme.isalpha():
                _register(credential, where, name)
        built.append(Header(name, value, template, secret, where))
    return tuple(built)


def literal_secrets(headers: Iterable[Header]) -> list[str]:
    """Names of secret-looking headers written literally (no ``${VAR}``)."""
    return [h.name for h in headers if h.secret and not h.variables]


def check_auth_header(name: str, where: str) -> str:
    """``Authorization``, ``none``, or another valid header name; one edit away from
    either is a typo (``Authorisation``, ``nnoe``), not a header name (``X-Authorization``,
    two edits away, is a header of its own)."""
    if name.strip().lower() == NO_AUTH:
        return NO_AUTH
    typo = nearmiss.near(name.strip().lower(), (NO_AUTH, "authorization"), limit=1)
    if typo is not None:
        meant = NO_AUTH if typo == NO_AUTH else AUTHORIZATION
        raise ConfigError(f"{where}: {name.strip()!r} looks like a misspelt {meant!r}: did you "
                          f"mean {meant!r}? (Authorization, none, or the name of the header "
                          "your gateway reads the key from, such as api-key or x-api-key)")
    if not _NAME.match(name.strip()):
        raise ConfigError(_BAD_NAME.format(where=where, name=name))
    return AUTHORIZATION if name.strip().lower() == "authorization" else name.strip()


def auth_value(auth_header: str, key: str) -> str:
    """What the auth header carries: ``Bearer KEY`` for Authorization, the key as-is
    for any other name (Azure's ``api-key``, Anthropic-style ``x-api-key``)."""
    return f"Bearer {key}" if auth_header.lower() == "authorization" else key


def user_agent(version: str, environment: str) -> str:
    """``chat-smoke/<version> (synthetic-check; environment=<env>)``, with the
    environment reduced to characters a header value can always carry."""
    env = _UA_UNSAFE.sub("-", environment).strip("-")[:64] or "unset"
    return f"chat-smoke/{version} (synthetic-check; environment={env})"
