"""A small REST client for the incident trackers: one session, headers with the token,
a retry for a server error or a dropped connection, pages followed through the ``Link``
header (only under the API root: the token goes nowhere else), and every problem a
:class:`TrackerError` whose message names the status and the API's own message, never
the token. The session comes from the wall-clock budget (:mod:`smoke.bounded`)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

from smoke.alerts.lifecycle import TrackerError

if TYPE_CHECKING:
    import requests

PER_PAGE = 100
MAX_PAGES = 20  # 2,000 issues, most recently updated first: an incident is among them


class Client:
    def __init__(self, session: requests.Session, root: str,
                 headers: Mapping[str, str]) -> None:
        self.session = session
        self.root = root.rstrip("/")
        self.session.headers.update(headers)
        self.retried = False

    def call(self, method: str, path_or_url: str, json: object = None) -> requests.Response:
        """``method`` on the API (``json``: the body), retried once on a server error or a
        dropped connection."""
        import requests

        url = path_or_url if path_or_url.startswith(self.root + "/") \
            else f"{self.root}{path_or_url}"
        while True:
            try:
                response = self.session.request(method, url, json=json)
            except requests.RequestException as exc:
                if self._retry():
                    continue
                raise TrackerError(f"{type(exc).__name__} calling {method} "
                                   f"{_path(url, self.root)}") from None
            if response.status_code >= 500 and self._retry():
                continue
            if response.status_code >= 300:
                raise TrackerError(f"{method} {_path(url, self.root)}: {problem(response)}")
            return response

    def json(self, method: str, path: str, json: object = None) -> object:
        response = self.call(method, path, json)
        try:
            return response.json()
        except ValueError:
            raise TrackerError(f"{method} {_path(path, self.root)}: the answer was not "
                               "JSON") from None

    def pages(self, path: str) -> Iterator[list[object]]:
        """Each page of a list, following ``Link: <…>; rel="next"`` up to MAX_PAGES."""
        url: str | None = path
        for _ in range(MAX_PAGES):
            if url is None:
                return
            response = self.call("GET", url)
            try:
                items = response.json()
            except ValueError:
                raise TrackerError(f"GET {_path(url, self.root)}: the answer was not "
                                   "JSON") from None
            yield items if isinstance(items, list) else []
            url = response.links.get("next", {}).get("url")
            if url is not None and not url.startswith(self.root + "/"):
                raise TrackerError("the next page is not under the API's URL; the token "
                                   "is sent nowhere else")

    def _retry(self) -> bool:
        if self.retried:
            return False
        self.retried = True
        return True


def _path(url: str, root: str) -> str:
    return url.removeprefix(root).split("?", 1)[0] or "/"


def problem(response: requests.Response) -> str:
    status = response.status_code
    headers = response.headers
    if status == 429 or (status == 403 and (headers.get("x-ratelimit-remaining") == "0"
                                            or headers.get("retry-after"))):
        return f"HTTP {status}: rate limited; skipped for this run"
    try:
        data = response.json()
        message = str(data.get("message") or data.get("error") or "") \
            if isinstance(data, dict) else ""
    except ValueError:
        message = ""
    message = re.sub(r"\s+", " ", message)[:200]
    return f"HTTP {status}" + (f": {message}" if message else "")
