"""Error replies.

A command handler raises :class:`RedisError` (or returns an instance) to send
an error reply; the message is the whole line after the ``-``, prefix included
(``ERR ...``, ``WRONGTYPE ...``). The constants below are the messages Redis
7.0 uses verbatim, so every module spells them the same way.
"""


class RedisError(Exception):
    """An error reply. ``msg`` is the full text, e.g. ``"ERR syntax error"``."""

    __slots__ = ("msg",)

    def __init__(self, msg: str):
        super().__init__(msg)
        self.msg = msg

    @property
    def prefix(self) -> str:
        """The error code used by INFO errorstats (first word)."""
        return self.msg.split(" ", 1)[0]


class ProtocolError(Exception):
    """A malformed request: reply with ``-ERR Protocol error: <msg>`` and close."""


WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
SYNTAX = "ERR syntax error"
NOT_INTEGER = "ERR value is not an integer or out of range"
NOT_FLOAT = "ERR value is not a valid float"
OVERFLOW = "ERR increment or decrement would overflow"
NO_SUCH_KEY = "ERR no such key"
OUT_OF_RANGE = "ERR index out of range"
DB_INDEX = "ERR DB index is out of range"
NOAUTH = "NOAUTH Authentication required."
WRONGPASS = "WRONGPASS invalid username-password pair or user is disabled."
READONLY = "READONLY You can't write against a read only replica."
OOM = "OOM command not allowed when used memory > 'maxmemory'."
EXECABORT = "EXECABORT Transaction discarded because of previous errors."
NOREPLICAS = "NOREPLICAS Not enough good replicas to write."
LOADING = "LOADING Redis is loading the dataset in memory"
MASTERDOWN = ("MASTERDOWN Link with MASTER is down and replica-serve-stale-data "
              "is set to 'no'.")
INVALID_EXPIRE = "ERR invalid expire time in '{}' command"


def wrong_arity(name: str) -> RedisError:
    return RedisError(f"ERR wrong number of arguments for '{name}' command")


def subcommand_syntax(argv) -> RedisError:
    """Redis's addReplySubcommandSyntaxError: the subcommand ``argv[1]`` (as
    sent) got arguments it does not take; ``argv[0]`` names the container."""
    return RedisError(
        f"ERR unknown subcommand or wrong number of arguments for '{_trunc(argv[1])}'. "
        f"Try {argv[0].decode('utf-8', 'replace').upper()} HELP.")


def unknown_subcommand(sub: bytes, container: str) -> RedisError:
    return RedisError(
        f"ERR unknown subcommand '{_trunc(sub)}'. Try {container.upper()} HELP.")


def _trunc(b: bytes, limit: int = 128) -> str:
    return b[:limit].decode("utf-8", "replace")


def unknown_command(argv: list) -> RedisError:
    """Redis's message for a command name not in the table."""
    args = "".join(f"'{_trunc(a)}' " for a in argv[1:])
    # Redis cuts the argument list at 128 characters in total.
    if len(args) > 128:
        args = args[:128]
    return RedisError(
        f"ERR unknown command '{_trunc(argv[0])}', with args beginning with: {args}")
