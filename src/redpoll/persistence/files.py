"""Files replaced atomically: the RDB, the AOF base and manifest, redis.conf.

Everything redpoll writes over an existing file goes through
:func:`replacing`: the new content goes to a temporary file in the same
directory, which is flushed, fsynced and renamed over the target, and the
directory is fsynced so the rename itself survives a crash. At any moment the
target is either the complete old file or the complete new one.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager


def fsync_dir(path: str) -> None:
    """fsync the directory holding ``path`` (makes a rename durable)."""
    try:
        fd = os.open(os.path.dirname(os.path.abspath(path)) or ".", os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextmanager
def replacing(path: str, tmp: str | None = None, mode: str = "wb",
              keep_mode: bool = False, **open_args):
    """``with replacing(path) as f: f.write(...)`` replaces ``path`` with what
    the block writes to ``f``, atomically (see the module docstring).

    ``tmp`` names the temporary file (Redis's names, e.g. ``temp-<pid>.rdb``,
    which a crashed child leaves for its parent to clean up); by default a
    fresh one is made next to ``path``. ``mode`` and ``open_args`` are
    :func:`open`'s. ``keep_mode``: the new file gets the permission bits of
    the one it replaces (0644 when there is none), as CONFIG REWRITE does.
    When the block raises, the temporary file is removed and ``path`` is
    left alone. Raises OSError."""
    fd = None
    if tmp is None:
        fd, tmp = tempfile.mkstemp(prefix=os.path.basename(path) + ".",
                                   dir=os.path.dirname(path) or ".")
    try:
        f = open(tmp, mode, **open_args) if fd is None else os.fdopen(fd, mode, **open_args)
        with f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        if keep_mode:
            try:
                os.chmod(tmp, os.stat(path).st_mode & 0o7777)
            except OSError:
                os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    fsync_dir(path)
