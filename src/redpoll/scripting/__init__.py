"""The Lua scripting engine behind EVAL/EVALSHA (``commands/scripting.py``).

* :mod:`redpoll.scripting.engine`: :class:`LuaEngine`, one Lua 5.1 state
  (lupa) per server with Redis's sandbox, the ``redis.*`` API, type
  conversions between Lua and replies, the script cache, the timeout hook
  and the busy mode that answers other clients while a script runs long.
* :mod:`redpoll.scripting.libs`: the ``bit``, ``struct``, ``cjson`` and
  ``cmsgpack`` libraries Redis preloads, implemented as Python callbacks.
* :mod:`redpoll.scripting.busy`: serving other clients (``-BUSY``, SCRIPT
  KILL) from inside the timeout hook of a slow script.
* :mod:`redpoll.scripting.functions`: Redis 7 function libraries (FUNCTION
  LOAD, FCALL), their registry and the hooks RDB/AOF use to save them.
* ``prelude.lua``: the sandbox, the ``redis`` table, the error handler and
  the load/run environments of functions, in Lua.
"""
