"""Who may use the page: the start token, its cookie, the Host check, CSRF and CSP.

Stage: none (the web page's guard, in front of every request).
In: the address the server is bound to, and each request's headers.
Out: yes or no, and the headers every answer carries.

As Jupyter does, each start of ``reconcile serve`` makes a secret token and prints the
address with it (``/?token=...``). The first visit with the token gets it back as a
cookie (``HttpOnly``, ``SameSite=Strict``, named after the port, since cookies are not
kept apart by port); scripts send ``Authorization: Bearer TOKEN``. Every page and every
download needs one of the two; the static assets (CSS, JavaScript) need neither.

* **DNS rebinding**: a page on another site could make its own host name resolve to
  127.0.0.1 and talk to the server as if it were the same site. The browser still sends
  that other name in ``Host``, so a ``Host`` other than the bound address and port (or
  ``localhost:PORT``) is refused with ``400``.
* **CSRF**: every form carries a token derived from the secret (HMAC-SHA256), checked
  on every POST made with the cookie. ``SameSite=Strict`` already keeps other sites'
  forms from sending the cookie; the form token is the second lock. A request with the
  bearer token needs no form token: another site cannot know the secret.
* **CSP**: everything comes from the server itself, no inline script or style, no
  frames, forms post only to the server: ``default-src 'none'`` and the few sources the
  pages need (:data:`CONTENT_SECURITY_POLICY`).

>>> guard = Guard("127.0.0.1", 8765, token="t0k3n")
>>> guard.host_allowed("localhost:8765"), guard.host_allowed("evil.example:8765")
(True, False)
>>> guard.check_csrf(guard.csrf_token), guard.check_csrf("forged")
(True, False)
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from collections.abc import Mapping

#: every page's Content-Security-Policy: the server's own files only
CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
))

#: headers on every answer, pages and assets alike
SECURITY_HEADERS: tuple[tuple[str, str], ...] = (
    ("content-security-policy", CONTENT_SECURITY_POLICY),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "same-origin"),  # "no-referrer" makes a form send Origin: null
    ("cross-origin-opener-policy", "same-origin"),
    ("cross-origin-resource-policy", "same-origin"),
)

#: the name of the form field (and header) that carries the CSRF token
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


def _host_text(host: str) -> str:
    """``host`` as it appears in a URL (IPv6 in brackets)."""
    try:
        if ipaddress.ip_address(host).version == 6:
            return f"[{host}]"
    except ValueError:
        pass
    return host


class Guard:
    """The secret of one server start and the checks made with it."""

    def __init__(self, host: str, port: int, token: str | None = None) -> None:
        self.host = host
        self.port = port
        self.token = token or secrets.token_urlsafe(32)
        self.cookie_name = f"reconcile-{port}"
        self.csrf_token = hmac.new(self.token.encode(), b"reconcile csrf",
                                   hashlib.sha256).hexdigest()
        names = {_host_text(host), "127.0.0.1", "localhost"}
        if host in ("::1", "0:0:0:0:0:0:0:1"):
            names.add("[::1]")
        self.allowed_hosts = frozenset(f"{name}:{port}".lower() for name in names)

    @property
    def base_url(self) -> str:
        return f"http://{_host_text(self.host)}:{self.port}"

    @property
    def start_url(self) -> str:
        """The address printed at start: the page, with the token."""
        return f"{self.base_url}/?token={self.token}"

    def host_allowed(self, host: str | None) -> bool:
        """Only the address the server was started on (and ``localhost``), with its port."""
        return host is not None and host.strip().lower() in self.allowed_hosts

    def token_matches(self, candidate: str | None) -> bool:
        return candidate is not None and hmac.compare_digest(candidate.encode(),
                                                             self.token.encode())

    def bearer(self, headers: Mapping[str, str]) -> bool:
        """``Authorization: Bearer TOKEN`` (a script)."""
        scheme, _, value = (headers.get("authorization") or "").partition(" ")
        return scheme.lower() == "bearer" and self.token_matches(value.strip())

    def cookie(self, cookies: Mapping[str, str]) -> bool:
        """The session cookie set at the first visit (a browser)."""
        return self.token_matches(cookies.get(self.cookie_name))

    def check_csrf(self, candidate: str | None) -> bool:
        return candidate is not None and hmac.compare_digest(candidate.encode(),
                                                             self.csrf_token.encode())

    def cookie_header(self) -> str:
        """``Set-Cookie`` for the session: the token, for this server's pages only."""
        return (f"{self.cookie_name}={self.token}; Path=/; HttpOnly; SameSite=Strict")
