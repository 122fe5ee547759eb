"""The HELP subcommand's reply, shared by every container command (CLIENT,
OBJECT, XINFO, ...). No command is declared here: importing this module
leaves the command table alone."""

from __future__ import annotations

from redpoll.protocol.resp import Status

_FOOTER = (Status("HELP"), Status("    Prints this help."))


def help_reply(argv, lines: list[str]) -> list:
    """The reply of a container's HELP subcommand, as Redis's addReplyHelp
    builds it: a header naming the command (as sent, upper-cased), the
    container's own ``lines``, then the entry of HELP itself; all status
    replies."""
    header = argv[0].decode("ascii", "replace").upper() + \
        " <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    return [Status(header), *map(Status, lines), *_FOOTER]
