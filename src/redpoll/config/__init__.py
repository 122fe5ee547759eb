"""Configuration: the directive table, redis.conf parsing, CONFIG REWRITE."""

from redpoll.config.directives import DIRECTIVES, ConfigError, lookup
from redpoll.config.loader import Config, FatalConfigError

__all__ = ["Config", "ConfigError", "DIRECTIVES", "FatalConfigError", "lookup"]
