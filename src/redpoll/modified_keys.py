"""Which keys a write command modified: Redis's ``signalModifiedKey``.

WATCH and the clients blocked on keys must hear about the keys a command
wrote, not about every key it names: ``COPY src dst`` modifies ``dst`` only,
``SUNIONSTORE dst k1 k2`` only ``dst``, ``SORT k STORE dst`` only ``dst``.
The command table already says this in the key specs (the same ones COMMAND
INFO and ACL ``%R~``/``%W~`` use): a key found by a spec flagged ``RO`` is only
read. So the keys a write touches are its keys minus the read-only ones.

Most commands have no read-only key at all; that is worked out once per
command and kept on its table entry, so only the few with sources and
destinations pay for evaluating their specs (and only while WATCH or
blocked clients exist, see Server.after_write).
"""

from __future__ import annotations

def _has_read_only_keys(cmd) -> bool:
    r = cmd.has_read_only_keys
    if r is None:
        from redpoll.commands.command import key_specs
        from redpoll.commands.keyspecs import apply_core
        apply_core()                # the core specs are attached lazily
        r = False
        for spec in key_specs(cmd):
            flags = {str(f) for f in dict(spec)[b"flags"]}
            if "RO" in flags or "variable_flags" in flags:
                r = True
                break
        cmd.has_read_only_keys = r
    return r


def modified_keys(cmd, argv) -> list[bytes]:
    """The keys of ``argv`` that the write ``cmd`` may have modified."""
    if not _has_read_only_keys(cmd):
        return cmd.keys(argv)
    from redpoll.commands.command import key_flags_by_position
    idx = cmd.key_indexes(argv)
    flags = key_flags_by_position(cmd, argv, idx)
    return [argv[i] for i in idx if "RO" not in flags.get(i, ())]
