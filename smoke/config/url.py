"""The base URL: normalised, and refused where it would leak the key."""

from __future__ import annotations

import ipaddress
from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit

from smoke.config import query as http_query
from smoke.errors import ConfigError
from smoke.output import redact

# A user name or fragment shorter than this is not registered as a secret: masking a
# short word ("api") everywhere would garble the output (it is never shown anyway).
_REGISTER_MIN = 6

_PLAIN_HTTP = (
    "base_url {url} is plain http to a host that is not loopback, which would send the key "
    "unencrypted: use https, or pass --allow-plain-http for an internal gateway"
)


def shown(url: str) -> str:
    """``url`` for a message: without user info or query, which may hold a secret."""
    try:
        parts = urlsplit(url.strip())
        netloc = parts.netloc.rpartition("@")[2]
        return repr(urlunsplit((parts.scheme, netloc, parts.path, "", ""))[:200])
    except ValueError:
        return "(the URL)"


def register_secrets(url: str | None) -> None:
    """Register what a URL may carry that is secret, before anything could show it (issue
    26): the user info (user and password), secret-looking query values, the fragment.
    A server or a proxy that echoes the URL back is then masked too."""
    if not url:
        return
    try:
        parts = urlsplit(str(url).strip())
        user, password = parts.username, parts.password
    except ValueError:
        return
    if password:
        redact.register(unquote(password))
        redact.register(password)
    if user and len(user) >= _REGISTER_MIN:
        redact.register(unquote(user))
        redact.register(user)
    if parts.fragment and len(parts.fragment) >= _REGISTER_MIN:
        redact.register(parts.fragment)
    http_query.register(parts.query)


def public(url: str) -> str:
    """``url`` as any output may show it, whatever it holds and even when it is invalid:
    without user info and fragment, secret-looking query values masked."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return "(not a valid URL)"
    netloc = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, netloc, parts.path, http_query.masked(parts.query), ""))


def public_endpoint(url: str) -> dict[str, str]:
    """The report's ``endpoint`` for a URL that was never validated (a config error)."""
    shown = public(url)
    try:
        parts = urlsplit(shown)
        host = parts.hostname or ""
    except ValueError:
        return {"base_url": shown, "host": "", "path": ""}
    return {"base_url": shown, "host": host, "path": parts.path}


def check_secret_free(url: str, where: str, key: str | None = None) -> None:
    """A key inside the URL would be logged by every proxy on the way: refuse it without
    echoing it. User info (``https://user:KEY@host``) is always refused; a query value
    (``?api-version=...`` is fine) only when it holds the key."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return  # normalize_url says what is wrong
    if "@" in parts.netloc:
        raise ConfigError(
            f"{where}: the URL carries credentials (user info before '@'); remove them and "
            f"put the key in COMETAPI_API_KEY. The URL is not shown"
        )
    if key and parts.query:
        values = [unquote(v) for _, v in parse_qsl(parts.query, keep_blank_values=True)]
        if key in parts.query or key in unquote(parts.query) or any(key in v for v in values):
            raise ConfigError(
                f"{where}: the URL's query carries the API key; remove it: the key is sent "
                f"in a header (--auth-header), from COMETAPI_API_KEY. The URL is not shown"
            )


_BAD_HOST = (
    "{where}: the host of {url} (characters {first}-{last} of the URL) is not a valid host "
    "name: {problem}. Check the URL for a typo"
)
_MAX_LABEL = 63
_MAX_HOST = 253


def _host_span(url: str) -> tuple[int, str] | None:
    """Where the host is in ``url`` (its offset, its text as written), or None when the
    URL has no ``scheme://``. Read from the text itself: ``urlsplit`` silently drops tabs
    and line breaks, and raises on an unclosed ``[``."""
    begin = url.find("://")
    if begin < 0:
        return None
    begin += 3
    ends = [i for i in (url.find(c, begin) for c in "/?#") if i >= 0]
    authority = url[begin : min(ends) if ends else len(url)]
    at = authority.rfind("@")
    start, hostport = begin + at + 1, authority[at + 1 :]
    if hostport.startswith("["):
        close = hostport.find("]")
        if close < 0:
            return start, hostport
        after = hostport[close + 1 :]
        return start, hostport[: close + 1] + (after if not after.startswith(":") else "")
    return start, hostport.split(":", 1)[0]


def _describe(char: str) -> str:
    import unicodedata

    name = unicodedata.name(char, "")
    return f"U+{ord(char):04X}" + (f" {name}" if name else "")


def _host_problem(host: str) -> tuple[int, str] | None:
    """(offset in the host, what is wrong), or None for a host that can be used."""
    import unicodedata

    for i, char in enumerate(host):
        if char.isspace() or unicodedata.category(char) in ("Cc", "Cf", "Zs", "Zl", "Zp", "Co",
                                                            "Cn", "Cs"):
            return i, f"an invisible or space character ({_describe(char)})"
    if not host:
        return 0, "it is empty"
    if host.startswith("["):
        if "]" in host and not host.endswith("]"):
            return host.find("]") + 1, "characters after the IPv6 address's ']'"
        if not host.endswith("]"):
            return 0, "an IPv6 address opened with '[' is not closed with ']'"
        try:
            ipaddress.IPv6Address(host[1:-1].split("%", 1)[0])
        except ValueError:
            return 1, f"{host[1:-1]!r} is not an IPv6 address"
        return None
    if "]" in host or "[" in host:
        return host.find("]") if "]" in host else host.find("["), "a stray bracket"
    name = host[:-1] if host.endswith(".") else host  # a fully qualified "example.com."
    if len(name) > _MAX_HOST:
        return 0, f"{len(name)} characters long ({_MAX_HOST} at most)"
    offset = 0
    for number, label in enumerate(name.split("."), 1):
        if not label:
            return offset, f"label {number} is empty (a dot at the start, or two in a row)"
        if len(label) > _MAX_LABEL:
            return offset, f"label {number} is {len(label)} characters long " \
                f"({_MAX_LABEL} at most)"
        if label.isascii():
            for i, char in enumerate(label):
                if not (char.isalnum() or char in "-_"):
                    return offset + i, f"{char!r} cannot be in a host name"
        offset += len(label) + 1
    if not name.isascii() or "xn--" in name.lower():
        import idna  # requests' own dependency: how it encodes such a host

        try:
            idna.encode(name, uts46=True)
        except (idna.IDNAError, UnicodeError) as exc:
            return 0, f"it cannot be encoded as an internationalized name ({exc})"
    return None


def check_host(url: str, where: str) -> None:
    """Refuse a host that cannot be parsed or encoded before anything is sent (issue 26:
    an unclosed IPv6 bracket was an internal error, a space a retried connect failure, an
    empty label blamed on a redirect): a config error naming where the host is."""
    text = url.strip()
    span = _host_span(text)
    if span is None:
        return
    start, host = span
    found = _host_problem(host)
    if found is None:
        return
    offset, problem = found
    raise ConfigError(_BAD_HOST.format(where=where, url=shown(text), first=start + 1,
                                       last=max(start + len(host), start + 1),
                                       problem=f"{problem}, at character "
                                               f"{start + offset + 1}"))


def normalize_url(url: str, where: str) -> str:
    """The base URL without a trailing slash (an empty path gets /v1). A query string
    (Azure's ``?api-version=…``) is kept: it is sent on every request. Nothing secret is
    echoed: user info is refused unseen, and a message shows no query."""
    check_secret_free(url, where)
    check_host(url, where)
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        raise ConfigError(f"{where}: not a valid URL; use the form "
                          f"https://api.cometapi.com/v1") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"{where}: {shown(url)} is not an http(s) URL; use the form "
            f"https://api.cometapi.com/v1"
        )
    if parts.fragment or url.strip().endswith("#"):
        raise ConfigError(f"{where}: {shown(url)} has a #fragment, which is never sent; "
                          f"remove it")
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise ConfigError(f"{where}: {shown(url)} has an invalid port") from None
    path = parts.path.rstrip("/") or "/v1"
    if path.endswith("/chat/completions"):
        raise ConfigError(
            f"{where}: give the base URL without /chat/completions, e.g. "
            f"{urlunsplit((parts.scheme, parts.netloc, path[: -len('/chat/completions')], '', ''))}"
        )
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False




def endpoint(raw_url: str, where: str, key: str, allow_plain: bool) -> tuple[str, str]:
    """(base URL, its query) from a configured base URL, refusing what would leak the key:
    credentials or the key in the URL, and plain http to a host that is not loopback."""
    check_secret_free(raw_url, where, key)
    base_url, base_query = http_query.split(normalize_url(raw_url, where))
    http_query.register(base_query)
    host = urlsplit(base_url).hostname or ""
    if base_url.startswith("http://") and not is_loopback(host) and not allow_plain:
        raise ConfigError(_PLAIN_HTTP.format(url=base_url))
    return base_url, base_query
