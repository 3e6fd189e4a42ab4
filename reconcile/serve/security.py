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
  ``localhost:PORT``) is refused with ``400``. Started with ``--host`` to be reached
  from other computers, this computer's own name is allowed too, and bound to every
  address (``0.0.0.0``) any IP address written as digits (a rebinding needs a name).
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


def is_wildcard(host: str) -> bool:
    """``0.0.0.0``, ``::`` (or empty): every address of the machine."""
    return host.strip() in ("", "0.0.0.0", "::", "[::]", "0:0:0:0:0:0:0:0")


def is_loopback(host: str) -> bool:
    """An address only this computer can reach (``127.x.x.x``, ``::1``, ``localhost``)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


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

    def __init__(self, host: str, port: int, token: str | None = None,
                 names: tuple[str, ...] = ()) -> None:
        self.host = host
        self.port = port
        self.token = token or secrets.token_urlsafe(32)
        self.cookie_name = f"reconcile-{port}"
        self.csrf_token = hmac.new(self.token.encode(), b"reconcile csrf",
                                   hashlib.sha256).hexdigest()
        #: bound to every address of the machine (``--host 0.0.0.0`` or ``::``)
        self.everywhere = is_wildcard(host)
        self.local = self.everywhere or is_loopback(host)
        hosts = {"127.0.0.1", "localhost", "[::1]"}
        if not self.everywhere:
            hosts.add(_host_text(host))
        hosts.update(_host_text(n) for n in names)  # this machine's own names
        self.allowed_hosts = frozenset(f"{name}:{port}".lower() for name in hosts)

    @property
    def base_url(self) -> str:
        """The page's address on this computer (a wildcard's is the loopback one)."""
        if self.everywhere:
            return f"http://{'[::1]' if ':' in self.host else '127.0.0.1'}:{self.port}"
        return f"http://{_host_text(self.host)}:{self.port}"

    @property
    def start_url(self) -> str:
        """The address printed at start: the page, with the token."""
        return f"{self.base_url}/?token={self.token}"

    def host_allowed(self, host: str | None) -> bool:
        """Only the address the server was started on (and ``localhost``), with its port.

        Bound to every address (``--host 0.0.0.0``), any IP address of the machine is its
        own, written as digits: DNS rebinding needs a name, and the names allowed are
        only ``localhost`` and this machine's own (``names``).
        """
        if host is None:
            return False
        wanted = host.strip().lower()
        if wanted in self.allowed_hosts:
            return True
        if not self.everywhere:
            return False
        name, _, port = wanted.rpartition(":")
        if port != str(self.port):
            return False
        try:
            ipaddress.ip_address(name[1:-1] if name.startswith("[") and name.endswith("]")
                                 else name)
        except ValueError:
            return False
        return not (":" in name and not name.startswith("["))

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
