"""Users and permissions (AUTH, ACL).

Every client is attached to a :class:`User`. The ``default`` user takes its
password from ``requirepass``; more users come from ``user`` directives, the
``aclfile`` and ACL SETUSER. A user's command permissions are kept as a set
of allowed command ids (from the command table), so the check on the hot path
is one set lookup, skipped entirely for users with ``allcommands``.
"""

from __future__ import annotations

import hashlib
import hmac


def hash_password(pw: bytes) -> str:
    return hashlib.sha256(pw).hexdigest()


class User:
    def __init__(self, name: str):
        self.name = name
        self.enabled = False
        self.nopass = False
        self.passwords: set[str] = set()       # sha256 hex digests
        self.all_commands = False
        self.allowed: set[int] = set()          # command ids when not all_commands
        self.all_keys = False
        self.key_patterns: list[tuple[bytes, str]] = []   # (pattern, "RW"|"R"|"W")
        self.all_channels = False
        self.channel_patterns: list[bytes] = []
        self.rules: list[str] = []              # as given, for ACL LIST (rebuilt by the ACL room)

    @property
    def unrestricted(self) -> bool:
        """Can run every command on every key and channel: checks can be skipped."""
        return self.all_commands and self.all_keys and self.all_channels

    def check_password(self, pw: bytes) -> bool:
        if self.nopass:
            return True
        digest = hash_password(pw)
        ok = False
        for h in self.passwords:
            ok |= hmac.compare_digest(h, digest)    # constant time, every entry checked
        return ok


class ACL:
    """The user registry."""

    def __init__(self):
        self.users: dict[str, User] = {}
        u = User("default")
        u.enabled = True
        u.nopass = True
        u.all_commands = u.all_keys = u.all_channels = True
        self.users["default"] = u

    @property
    def default_user(self) -> User:
        return self.users["default"]

    def set_requirepass(self, pw: str) -> None:
        u = self.default_user
        u.passwords.clear()
        if pw:
            u.nopass = False
            u.passwords.add(hash_password(pw.encode("utf-8", "surrogateescape")))
        else:
            u.nopass = True

    def auth_required(self) -> bool:
        u = self.default_user
        return not (u.enabled and u.nopass)

    def authenticate(self, username: str, password: bytes) -> User | None:
        u = self.users.get(username)
        if u is None or not u.enabled or not u.check_password(password):
            return None
        return u
