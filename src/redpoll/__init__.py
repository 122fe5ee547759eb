"""redpoll: a Redis-compatible, highly available in-memory data store in Python."""

__version__ = "0.1.0"

# The Redis version whose behaviour redpoll reproduces; reported as
# redis_version in INFO and HELLO because clients gate features on it.
REDIS_COMPAT_VERSION = "7.0.15"
