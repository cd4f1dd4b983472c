"""Failure categories: a public contract (names, exit codes, transience, owners)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

DOCS_URL = "https://github.com/chat-smoke/chat-smoke/blob/main/docs/failures.md"


@dataclass(frozen=True)
class _Spec:
    exit_code: int
    transient: bool
    hint: str


class Category(StrEnum):
    CONFIG = "config"
    AUTH = "auth"
    PERMISSION = "permission"
    QUOTA = "quota"
    DNS = "dns"
    TLS = "tls"
    MODEL = "model"
    REQUEST = "request"
    PROTOCOL = "protocol"
    ASSERTION = "assertion"
    CONNECT = "connect"
    TIMEOUT = "timeout"
    RATE_LIMIT = "rate_limit"
    UPSTREAM = "upstream"

    @property
    def spec(self) -> _Spec:
        return _SPECS[self]

    @property
    def exit_code(self) -> int:
        return self.spec.exit_code

    @property
    def transient(self) -> bool:
        return self.spec.transient

    @property
    def hint(self) -> str:
        return self.spec.hint

    @property
    def docs_url(self) -> str:
        # GitHub's heading slugs keep "_" (github-slugger strips punctuation except "-"
        # and the connector "_"), so "## rate_limit" is "#rate_limit".
        return f"{DOCS_URL}#{self.value}"

    @property
    def owner(self) -> str:
        """Who usually has to act (the failure guide's "usually owned by" column)."""
        return OWNERS[self]

    @property
    def group(self) -> str:
        """The category's group (:data:`GROUPS`): what the owners map, incident issues and
        the monitor's alert routing group by."""
        return GROUP_OF[self]


_SPECS: dict[Category, _Spec] = {
    Category.CONFIG: _Spec(2, False, "Fix the chat-smoke configuration; nothing was sent."),
    Category.AUTH: _Spec(
        3, False, "The key was rejected. Rotate or re-mount the secret; this is not an outage."
    ),
    Category.PERMISSION: _Spec(
        3, False, "The key lacks access to this resource. Ask the account owner to grant it."
    ),
    Category.QUOTA: _Spec(
        3, False, "The account is out of credit or quota. Top up or raise the limit; "
        "retrying will not help."
    ),
    Category.DNS: _Spec(
        4, False, "The host does not resolve. Check base-url for a typo and the runner's DNS."
    ),
    Category.TLS: _Spec(
        4, False, "TLS failed. Check the URL's host, or pass --ca-bundle for a corporate CA."
    ),
    Category.MODEL: _Spec(
        4, False, "The model is unknown or unavailable. Check the model id and the "
        "account's entitlements."
    ),
    Category.REQUEST: _Spec(
        4, False, "The endpoint rejected the request. Check the payload fields the model accepts."
    ),
    Category.PROTOCOL: _Spec(
        4, False, "The answer broke the Chat Completions contract. Check base-url points "
        "at an OpenAI-compatible API, not a web page or proxy."
    ),
    Category.ASSERTION: _Spec(
        6, False, "The model answered, but not as expected. Check the model and the expect "
        "condition; the integration itself works."
    ),
    Category.CONNECT: _Spec(
        5, True, "The connection failed. The endpoint or the network is down; retry later "
        "or check the status page."
    ),
    Category.TIMEOUT: _Spec(
        5, True, "The endpoint was too slow. Retry later, or raise --timeout/--deadline."
    ),
    Category.RATE_LIMIT: _Spec(
        5, True, "Rate limited. Retry later or lower the traffic sharing this key."
    ),
    Category.UPSTREAM: _Spec(
        5, True, "The provider had a server error. This is an outage upstream; retry later."
    ),
}

# What to do about the two outcomes that have no category: a check that failed without
# one (chat-smoke itself broke) and a check a signal stopped. Every output says the same.
INTERNAL_HINT = ("A bug in chat-smoke, not a finding about the endpoint: report it with "
                 "report.json.")
CANCELLED_HINT = ("Re-run the job: a check that did not finish decided nothing about the "
                  "endpoint.")
CANCELLED_DOCS_URL = f"{DOCS_URL}#cancelled"

# Who usually has to act on a failure: docs/failures.md shows the same table.
OWNERS: dict[Category, str] = {
    Category.CONFIG: "whoever wrote the workflow / config",
    Category.AUTH: "the secret's owner",
    Category.PERMISSION: "the account or project admin",
    Category.QUOTA: "billing owner",
    Category.DNS: "config author, then network team",
    Category.TLS: "network / platform team",
    Category.MODEL: "config author, then account admin",
    Category.REQUEST: "config author",
    Category.PROTOCOL: "config author, then gateway owner",
    Category.ASSERTION: "model / prompt owner",
    Category.CONNECT: "provider or network",
    Category.TIMEOUT: "provider or network",
    Category.RATE_LIMIT: "whoever shares the key's limits",
    Category.UPSTREAM: "the provider",
}

# Category groups: a public contract (the owners map, incident dedup keys, the monitor's
# alert rules and docs/failures.md use these names). Every category is in exactly one.
GROUPS: dict[str, tuple[Category, ...]] = {
    "config": (Category.CONFIG,),
    "credentials": (Category.AUTH, Category.PERMISSION, Category.QUOTA),
    "endpoint": (Category.DNS, Category.TLS, Category.MODEL, Category.REQUEST),
    "contract": (Category.PROTOCOL,),
    "transient": (Category.CONNECT, Category.TIMEOUT, Category.RATE_LIMIT, Category.UPSTREAM),
    "answer": (Category.ASSERTION,),
}
GROUP_OF: dict[Category, str] = {
    category: group for group, members in GROUPS.items() for category in members
}

# When checks fail in several groups, the exit code follows this order: credentials
# and configuration need a person, so they come before outages.
EXIT_PRECEDENCE: tuple[int, ...] = (2, 3, 4, 6, 5)

# The hint of a check that answered but missed a latency objective (``latency:`` in the
# configuration). Its category is ``timeout``; unlike an ordinary timeout it is not
# transient and was not retried (docs/failures.md, beside the category table).
OBJECTIVE_HINT = (
    "The endpoint answered, but slower than its objective (latency: in the configuration). "
    "Not retried: find what made it slow (the model, the region, the gateway), or revise "
    "the objective."
)
