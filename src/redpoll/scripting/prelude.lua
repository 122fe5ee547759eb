-- redpoll's Lua sandbox, built once per Lua state (see engine.py).
--
-- Scripts run with a read-only environment `env`: reading a global that does
-- not exist and assigning any global raise Redis's errors. Library tables
-- are handed out as read-only proxies (pairs/next see through them). The
-- real debug library stays here, private, for the error handler and the
-- timeout hook. P holds the Python callbacks.
local P = ...
local G = {}            -- what the sandbox globals contain
local env = {}          -- the environment scripts see (always empty)
local real_debug = debug
local dgetinfo, dsethook = debug.getinfo, debug.sethook
local error, type, tostring, select, next, rawset = error, type, tostring, select, next, rawset
local setmetatable, setfenv, xpcall, pcall = setmetatable, setfenv, xpcall, pcall
local loadstring, load, unpack = loadstring, load, unpack
local INTERNAL = "=redpoll"
-- Python callbacks signal errors by raising: the Lua error value is then a
-- userdata wrapping the exception; P.errinfo tells its kind and message.
local errinfo = P.errinfo

local backing = setmetatable({}, {__mode = "k"})   -- proxy -> real table

local function ro_error()
  error("Attempt to modify a readonly table", 2)
end

local function readonly(t)
  local p = setmetatable({}, {__index = t, __newindex = ro_error, __metatable = false})
  backing[p] = t
  return p
end

-- strict(t [, p]): makes p (a new table by default) a strict read-only view
-- of t, as Redis's global environments are: reading a name t lacks raises
-- Redis's error, assigning anything raises ro_error. Returns p and a function
-- that points the view's lookups at another table (see fenv); `backing`
-- keeps t.
local function strict(t, p)
  p = setmetatable(p or {}, {
    __index = function(_, k)
      local v = t[k]
      if v == nil then
        error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
      end
      return v
    end,
    __newindex = ro_error,
    __metatable = false,
  })
  backing[p] = t
  return p, function(other) t = other end
end

strict(G, env)

local function s_next(t, k)
  return next(backing[t] or t, k)
end
local function s_pairs(t)
  return next, backing[t] or t, nil
end

-- redis.pcall-compatible pcall: an error table {err=...} becomes its string.
local function pack(...)
  return {n = select("#", ...), ...}
end
local function s_pcall(f, ...)
  local r = pack(pcall(f, ...))
  if not r[1] then
    local e = r[2]
    if type(e) == "userdata" then
      local kind, m = errinfo(e)
      if kind then e = m end
    end
    if type(e) == "table" then
      local m = e.err
      if type(m) == "string" or type(m) == "number" then
        e = m
      end
    end
    return false, e
  end
  return unpack(r, 1, r.n)
end

-- luaPushErrorBuff: "-CODE msg" or "msg" -> "CODE msg" (trailing CR/LF trimmed)
local function err_text(s)
  local code, msg
  if s:sub(1, 1) == "-" then
    local sp = s:find(" ", 1, true)
    if sp then
      code, msg = s:sub(2, sp - 1), s:sub(sp + 1)
    else
      code, msg = "ERR", s:sub(2)
    end
  else
    code, msg = "ERR", s
  end
  msg = msg:gsub("^[\r\n]+", ""):gsub("[\r\n]+$", "")
  return code .. " " .. msg
end

-- __redis__err__handler: the message handler of every script call
local function err_handler(err)
  local level = 2
  local i = dgetinfo(level, "nSl")
  while i and (i.what == "C" or i.source == INTERNAL) do
    level = level + 1
    i = dgetinfo(level, "nSl")
  end
  if type(err) == "userdata" then
    local kind, m = errinfo(err)
    if kind == "script" then
      err = {err = m}
    elseif kind == "lib" then
      if i and i.currentline > 0 then
        m = i.short_src .. ":" .. i.currentline .. ": " .. m
      end
      err = m
    end
  end
  if type(err) ~= "table" then
    err = {err = "ERR " .. tostring(err)}
  end
  if i then
    err.source = i.source
    err.line = i.currentline
  end
  return err
end

-- Lua debugger (SCRIPT DEBUG, see debugger.py) --------------------------------
-- LDB holds the Python session's callbacks while a debugging session runs.
local LDB = nil
local USER = "@user_script"
local MAX_DEPTH = 18    -- nesting shown by value dumps (ldbCatStackValueRec)

-- ldbCatStackValue: a Lua value as the debugger shows it
local function ldb_value(v, level)
  level = level + 1
  if level == MAX_DEPTH then return "<max recursion level reached! Nested table?>" end
  local t = type(v)
  if t == "string" then
    return LDB.repr(v)
  elseif t == "number" then
    return string.format("%g", v)
  elseif t == "boolean" or t == "nil" then
    return tostring(v)
  elseif t == "table" then
    local expected, is_array = 1, true
    local r1, r2 = {}, {}
    for k, x in next, v do
      if is_array and (type(k) ~= "number" or k ~= expected) then is_array = false end
      local xv = ldb_value(x, level)
      r1[#r1 + 1] = xv
      r2[#r2 + 1] = "[" .. ldb_value(k, level) .. "]=" .. xv
      expected = expected + 1
    end
    return "{" .. table.concat(is_array and r1 or r2, "; ") .. "}"
  else
    local kind, addr = tostring(v):match("^(%a+): (.*)$")
    if kind == "userdata" or kind == "function" or kind == "thread" then
      return '"' .. kind .. "@" .. addr .. '"'
    end
    return '"<unknown-lua-type>"'
  end
end

local function ldb_errstring(e)
  if type(e) == "userdata" then
    local kind, m = errinfo(e)
    if kind then return m end
  elseif type(e) == "table" and e.err then
    return tostring(e.err)
  end
  return tostring(e)
end

-- the user-script frames from `level` up: {level, info}, innermost first
local function ldb_frames(level)
  local out = {}
  while true do
    local i = dgetinfo(level, "Snl")
    if not i then break end
    if i.source == USER then out[#out + 1] = {level - 1, i} end   -- caller's level
    level = level + 1
  end
  return out
end

local function ldb_print(level, name)
  if name == nil then
    local any, j = false, 1
    while true do
      local n, v = real_debug.getlocal(level, j)
      if n == nil then break end
      if not n:find("(*temporary)", 1, true) then
        LDB.log_lua("<value> " .. n .. " = " .. ldb_value(v, 0), true)
        any = true
      end
      j = j + 1
    end
    if not any then LDB.log_lua("No local variables in the current context.", false) end
    return
  end
  for _, fr in ipairs(ldb_frames(level)) do
    local j = 1
    while true do
      local n, v = real_debug.getlocal(fr[1], j)
      if n == nil then break end
      if n == name then
        LDB.log_lua("<value> " .. ldb_value(v, 0), true)
        return
      end
      j = j + 1
    end
  end
  if name == "KEYS" or name == "ARGV" then
    LDB.log_lua("<value> " .. ldb_value(G[name], 0), true)
  else
    LDB.log_lua("No such variable.", false)
  end
end

local function ldb_trace(level)
  local frames = ldb_frames(level)
  for k, fr in ipairs(frames) do
    local i = fr[2]
    LDB.log_lua((k == 1 and "In " or "From ") .. (i.name or "top level") .. ":", false)
    LDB.log_source(i.currentline)
  end
  if #frames == 0 then LDB.log_lua("<error> Can't retrieve Lua stack.", false) end
end

local function ldb_eval(argv)
  local code = table.concat(argv, " ", 2)
  local f = loadstring("return " .. code, "@ldb_eval")
  if not f then
    local e
    f, e = loadstring(code, "@ldb_eval")
    if not f then
      LDB.log_lua("<error> " .. tostring(e), false)
      return
    end
  end
  setfenv(f, env)
  local ok, r = pcall(f)
  if not ok then
    LDB.log_lua("<error> " .. ldb_errstring(r), false)
    return
  end
  LDB.log_lua("<retval> " .. ldb_value(r, 0), true)
end

-- the debugger prompt, called from the line hook: level 3 is the script
local function ldb_repl()
  while true do
    local argv = LDB.read()
    local n = #argv
    local cmd = string.lower(argv[1])
    if cmd == "s" or cmd == "step" or cmd == "n" or cmd == "next" then
      LDB.set_step(true)
      return
    elseif cmd == "c" or cmd == "continue" then
      return
    elseif cmd == "a" or cmd == "abort" then
      error({err = "ERR script aborted for user request"}, 0)
    elseif cmd == "t" or cmd == "trace" then
      ldb_trace(4)
    elseif n > 1 and (cmd == "e" or cmd == "eval") then
      ldb_eval(argv)
    elseif n > 1 and (cmd == "r" or cmd == "redis") then
      LDB.set_log_calls(true)
      pcall(P.call, unpack(argv, 2, n))
      LDB.set_log_calls(false)
    elseif cmd == "p" or cmd == "print" then
      ldb_print(4, n == 2 and argv[2] or nil)
    else
      LDB.command(argv)
    end
  end
end

-- line events, and every 100,000 instructions a count event that stops a
-- script running past the time limit ("timeout reached, infinite loop?")
local function ldb_hook(ev, line)
  local i = dgetinfo(2, "Sl")
  if i == nil or i.source ~= USER then return end
  if LDB.stop_reason(i.currentline, ev == "count") then ldb_repl() end
end

local function ldb_debug(...)
  if not LDB then return end
  local parts = {}
  for k = 1, select("#", ...) do
    parts[k] = ldb_value((select(k, ...)), 0)
  end
  local i = dgetinfo(2, "l")
  LDB.log_lua("<debug> line " .. (i and i.currentline or -1) .. ": " ..
              table.concat(parts, ", "), true)
end

local function single_field(field)
  return function(...)
    if select("#", ...) ~= 1 or type((...)) ~= "string" then
      return {err = "ERR wrong number or type of arguments"}
    end
    return {[field] = (...)}
  end
end

-- redis.call/redis.pcall are the Python callbacks themselves: a Lua wrapper
-- would be tail-called by `return redis.call(...)`, losing the script's
-- frame that error locations ("on @user_script:1.") are read from.
local redis = {
  call = P.call,
  pcall = P.pcall,
  error_reply = function(...)
    if select("#", ...) ~= 1 or type((...)) ~= "string" then
      return {err = "ERR wrong number or type of arguments"}
    end
    local e = ...
    if e:sub(1, 1) ~= "-" then e = "-" .. e end
    return {err = err_text(e)}
  end,
  status_reply = single_field("ok"),
  sha1hex = P.sha1hex,
  log = P.log,
  setresp = P.setresp,
  set_repl = P.set_repl,
  replicate_commands = function() return true end,
  breakpoint = function()
    if LDB then return LDB.breakpoint() end
    return false
  end,
  debug = ldb_debug,
  acl_check_cmd = P.acl_check_cmd,
  LOG_DEBUG = 0, LOG_VERBOSE = 1, LOG_NOTICE = 2, LOG_WARNING = 3,
  REPL_NONE = 0, REPL_AOF = 1, REPL_SLAVE = 2, REPL_REPLICA = 2, REPL_ALL = 3,
  REDIS_VERSION = P.version, REDIS_VERSION_NUM = P.version_num,
}

local smath = {}
for k, v in next, math do smath[k] = v end
smath.random = function(...)
  local n = select("#", ...)
  local r = P.rand()
  if n == 0 then return r end
  local l, u
  if n == 1 then
    l, u = 1, ...
  elseif n == 2 then
    l, u = ...
  else
    error("wrong number of arguments", 2)
  end
  if type(u) ~= "number" or (n == 2 and type(l) ~= "number") then
    error("bad argument #" .. n .. " to 'random' (number expected, got " .. type(u) .. ")", 2)
  end
  l, u = math.floor(l), math.floor(u)
  if l > u then error("bad argument #" .. n .. " to 'random' (interval is empty)", 2) end
  return math.floor(r * (u - l + 1)) + l
end
smath.randomseed = function(s)
  if type(s) ~= "number" then
    error("bad argument #1 to 'randomseed' (number expected, got " .. type(s) .. ")", 2)
  end
  P.srand(s)
end

local function s_loadstring(s, name)
  local f, e = loadstring(s, name)
  if f then setfenv(f, env) end
  return f, e
end
local function s_load(fn, name)
  local f, e = load(fn, name)
  if f then setfenv(f, env) end
  return f, e
end

for _, k in ipairs({"xpcall", "tostring", "assert", "tonumber", "rawequal",
                    "collectgarbage", "type", "select", "unpack", "gcinfo", "ipairs",
                    "_VERSION", "error"}) do
  G[k] = _G[k]
end
-- raw access and metatables cannot get around the read-only proxies either
local function ro_error_here()
  error("Attempt to modify a readonly table", 0)
end
G.rawset = function(t, k, v)
  if backing[t] then ro_error_here() end
  return rawset(t, k, v)
end
G.rawget = function(t, k)
  return rawget(backing[t] or t, k)
end
G.setmetatable = function(t, mt)
  if backing[t] then ro_error_here() end
  return setmetatable(t, mt)
end
G.getmetatable = function(t)
  if backing[t] and t ~= env then return nil end
  return getmetatable(t)
end
G.next = s_next
G.pairs = s_pairs
G.pcall = s_pcall
G.loadstring = s_loadstring
G.load = s_load
G._G = env
G.__redis__err__handler = err_handler
G.string = readonly(string)
do  -- ("x"):upper() goes through the read-only string library
  local smt = getmetatable("")
  smt.__index = G.string
  smt.__metatable = readonly(smt)
end
G.table = readonly(table)
G.coroutine = readonly(coroutine)
G.math = readonly(smath)
G.redis = readonly(redis)
for name, lib in next, P.libs do
  G[name] = readonly(lib)
end

-- run(f, use_hook, nkeys, ...): run a compiled script with KEYS/ARGV (use_hook:
-- the timeout hook, lua-time-limit > 0); returns ok, result, tag (see finish)
local KILLED = "ERR Script killed by user with SCRIPT KILL..."
-- After a kill, a line hook raises again on every line of the script so that
-- pcall cannot swallow the kill (our own code is left alone).
local function killer()
  local i = dgetinfo(2, "S")
  if i and i.source == INTERNAL then return end
  error({err = KILLED}, 0)
end
-- The timeout hook stays installed between runs (setting and clearing it
-- around every run costs more than running a small script): `armed` is true
-- while it is installed, false while no hook is, nil once a kill replaced it
-- with `killer` (cleared at the end of that run). It acts only while the
-- script itself runs (`in_script`, set around the xpcall): firing in our own
-- code before or after it, or between runs, it does nothing.
local armed = false
local in_script = false
local function hook()
  if in_script and P.tick() then
    dsethook(killer, "l")
    armed = nil
    error({err = KILLED}, 0)
  end
end
local function arm(use_hook)
  if use_hook then dsethook(hook, "", 100000) else dsethook() end
  armed = use_hook
end

local function split_args(nkeys, ...)
  if nkeys == 0 then return {}, {...} end
  local keys = {...}
  local argv = {select(nkeys + 1, ...)}
  for i = #keys, nkeys + 1, -1 do keys[i] = nil end
  return keys, argv
end

-- A table a script returns is read as Redis's luaReplyToRedisReply reads
-- it: raw lookups (metatables play no part), the first field that fits wins.
-- reply_parts(t): kind, values...: 1, s {err = s}; 2, s {ok = s};
-- 3, d {double = d}; 4, s {big_number = s}; 5, s {verbatim_string =
-- {format = f, string = s}}; 6, m {map = m}; 7, s {set = s}; or an array:
-- 0, n, t[1] .. t[min(n, ITEMS)] (the rest through reply_items).
local ITEMS = 1000
local function reply_parts(t)
  local v = rawget(t, "err")
  if type(v) == "string" then return 1, v end
  v = rawget(t, "ok")
  if type(v) == "string" then return 2, v end
  v = rawget(t, "double")
  if type(v) == "number" then return 3, v end
  v = rawget(t, "big_number")
  if type(v) == "string" then return 4, v end
  v = rawget(t, "verbatim_string")
  if type(v) == "table" then
    local s = rawget(v, "string")
    if type(rawget(v, "format")) == "string" and type(s) == "string" then return 5, s end
  end
  v = rawget(t, "map")
  if type(v) == "table" then return 6, v end
  v = rawget(t, "set")
  if type(v) == "table" then return 7, v end
  local n = 0
  while rawget(t, n + 1) ~= nil do n = n + 1 end
  return 0, n, unpack(t, 1, n < ITEMS and n or ITEMS)
end
-- reply_items(t, i, j): t[i] .. t[j], raw (unpack reads raw)
local function reply_items(t, i, j)
  return unpack(t, i, j)
end

-- ok_tables(n): n new {ok = "OK"} tables, redis.call's value of an OK reply
-- (engine.py hands each out once: making them here in batches is cheaper)
local function ok_tables(n)
  local t = {}
  for i = 1, n do t[i] = {ok = "OK"} end
  return unpack(t, 1, n)
end

-- finish(ok, res): what a runner returns to Python: ok, res, tag. A
-- successful result that is an {err = string} or {ok = string} table comes
-- back as that string with tag 1 (err) or 2 (ok), so that the common
-- replies cost Python no further call; anything else comes back as it is,
-- tag nil (Python reads tables with reply_parts).
local function finish(ok, res)
  if ok and type(res) == "table" then
    local e = rawget(res, "err")
    if type(e) == "string" then return ok, e, 1 end
    local s = rawget(res, "ok")
    if type(s) == "string" then return ok, s, 2 end
  end
  return ok, res, nil
end

local function run(f, use_hook, nkeys, ...)
  G.KEYS, G.ARGV = split_args(nkeys, ...)
  if use_hook ~= armed then arm(use_hook) end
  in_script = true
  local ok, res = xpcall(f, err_handler)
  in_script = false
  if armed == nil then arm(false) end
  for k in next, env do rawset(env, k, nil) end
  return finish(ok, res)
end

-- run_debug(f, ldb, nkeys, ...): run() under the debugger's line hook
local function run_debug(f, ldb, nkeys, ...)
  G.KEYS, G.ARGV = split_args(nkeys, ...)
  LDB = ldb
  dsethook(ldb_hook, "l", 100000)
  local ok, res = xpcall(f, err_handler)
  arm(false)
  LDB = nil
  for k in next, env do rawset(env, k, nil) end
  return finish(ok, res)
end

local function compile(body)
  local f, e = loadstring(body, "@user_script")
  if not f then return nil, e end
  setfenv(f, env)
  return f, false
end

-- Functions (FUNCTION LOAD / FCALL) ------------------------------------------
-- A library's code runs once at load time with only a reduced `redis` table
-- (register_function, log, versions); the functions it registers run later
-- with the full API (minus the EVAL-only helpers) and the usual globals.
-- Both use the environment `fenv`, whose lookups go to FG, or to LOADG while
-- a library loads (point_fenv).

local RF = {}
for k, v in next, redis do RF[k] = v end
RF.breakpoint, RF.debug, RF.replicate_commands = nil, nil, nil
local FG = {}
for k, v in next, G do FG[k] = v end
FG.redis = readonly(RF)
local fenv, point_fenv = strict(FG)
FG._G = fenv

local FLAGS = {["no-writes"] = true, ["allow-oom"] = true, ["allow-stale"] = true,
               ["no-cluster"] = true, ["allow-cross-slot-keys"] = true}
local pending, pending_names

local function regfail(msg)
  error({err = "ERR " .. msg}, 0)
end

local function isstr(v)
  return type(v) == "string" or type(v) == "number"
end

local function register_function(...)
  if not pending then
    regfail("redis.register_function can only be called on FUNCTION LOAD command")
  end
  local n = select("#", ...)
  if n < 1 or n > 2 then regfail("wrong number of arguments to redis.register_function") end
  local name, cb, flags, desc
  if n == 1 then
    local t = ...
    if type(t) ~= "table" then
      regfail("calling redis.register_function with a single argument is only applicable to " ..
              "Lua table (representing named arguments).")
    end
    for k, v in next, t do
      if not isstr(k) then
        regfail("named argument key given to redis.register_function is not a string")
      end
      local lk = string.lower(tostring(k))
      if lk == "function_name" then
        if not isstr(v) then
          regfail("function_name argument given to redis.register_function must be a string")
        end
        name = tostring(v)
      elseif lk == "description" then
        if not isstr(v) then
          regfail("description argument given to redis.register_function must be a string")
        end
        desc = tostring(v)
      elseif lk == "callback" then
        if type(v) ~= "function" then
          regfail("callback argument given to redis.register_function must be a function")
        end
        cb = v
      elseif lk == "flags" then
        if type(v) ~= "table" then
          regfail("flags argument to redis.register_function must be a table representing " ..
                  "function flags")
        end
        flags = {}
        for _, f in next, v do
          if type(f) ~= "string" or not FLAGS[f] then regfail("unknown flag given") end
          flags[#flags + 1] = f
        end
      else
        regfail("unknown argument given to redis.register_function")
      end
    end
    if not name then regfail("redis.register_function must get a function name argument") end
    if not cb then regfail("redis.register_function must get a callback argument") end
  else
    name, cb = ...
    if not isstr(name) then
      regfail("first argument to redis.register_function must be a string")
    end
    if type(cb) ~= "function" then
      regfail("second argument to redis.register_function must be a function")
    end
    name = tostring(name)
  end
  if not string.find(name, "^[%w_]+$") then
    regfail("Library names can only contain letters, numbers, or underscores(_) and must " ..
            "be at least one character long")
  end
  if pending_names[name] then regfail("Function already exists in the library") end
  pending_names[name] = true
  pending[#pending + 1] = {name, cb, flags or {}, desc or false}
end

local LOADG = {redis = strict({
  register_function = register_function, log = P.log,
  LOG_DEBUG = 0, LOG_VERBOSE = 1, LOG_NOTICE = 2, LOG_WARNING = 3,
  REDIS_VERSION = P.version, REDIS_VERSION_NUM = P.version_num,
})}

-- load_library(code): true, {{name, callback, flags, description}, ...} or
-- false, "compile"|"run", error
local function load_library(body)
  local f, e = loadstring(body, "@user_function")
  if not f then return false, "compile", e end
  setfenv(f, fenv)
  pending, pending_names = {}, {}
  point_fenv(LOADG)
  local ok, err = xpcall(f, err_handler)
  point_fenv(FG)
  local res = pending
  pending, pending_names = nil, nil
  if not ok then return false, "run", err end
  return true, res
end

-- call_function(cb, use_hook, nkeys, ...): cb(KEYS, ARGV) under the handler
local function call_function(cb, use_hook, nkeys, ...)
  local keys, argv = split_args(nkeys, ...)
  if use_hook ~= armed then arm(use_hook) end
  in_script = true
  local ok, res = xpcall(function() return cb(keys, argv) end, err_handler)
  in_script = false
  if armed == nil then arm(false) end
  return finish(ok, res)
end

return {run = run, run_debug = run_debug, compile = compile, load_library = load_library,
        call_function = call_function, reply_parts = reply_parts, reply_items = reply_items,
        reply_items_max = ITEMS, ok_tables = ok_tables}
