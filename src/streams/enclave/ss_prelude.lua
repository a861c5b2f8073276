-- ss_prelude.lua -- the SecureStreams programming model, loaded into the Lua sandbox before the
-- user's pipeline (docs/streams.md). The pipeline file calls pipeline(name) and chains operators;
-- each operator appends a stage. The C side then calls __ss_describe() (the stage list, checked)
-- and __ss_run(first, last, events, final) to push a batch of events through stages
-- first..last. Keyed state (reduce, scan, windows) lives in this state: in the enclave for a
-- secure stage. Names starting with __ss are the engine's; the rest is the user's API.
local stages, current = {}, nil
local policy = "fail"
local SECURE = {}
local P = {}
P.__index = P
param = {}

function __ss_param(k, v) param[k] = v end

-- Raises msg at the user's line: level 3 from an API function, 4 from add() (one call deeper).
local function fail(msg, level) error(msg, level or 3) end

function secure(x)
  if type(x) ~= "function" and type(x) ~= "table" then
    fail("secure() takes a function or a window spec, got " .. type(x))
  end
  return setmetatable({ inner = x }, SECURE)
end

local function unwrap(x)
  if getmetatable(x) == SECURE then return x.inner, true end
  return x, false
end

function pipeline(name)
  if type(name) ~= "string" or name == "" then fail("pipeline() takes a name") end
  if current then fail("a file describes one pipeline") end
  current = setmetatable({ name = name }, P)
  return current
end

local function add(self, op, f, want, extra)
  if getmetatable(self) ~= P then fail(op .. ": use pipeline(...):" .. op .. "(...)", 4) end
  if self.sunk then fail(op .. " after the sink", 4) end
  if not self.src then fail(op .. " before the source", 4) end
  local fn, sec = unwrap(f)
  if type(fn) ~= want then fail(op .. " expects a " .. want .. ", got " .. type(fn), 4) end
  local st = { op = op, fn = fn, secure = sec, index = #stages + 1 }
  if extra then for k, v in pairs(extra) do st[k] = v end end
  stages[#stages + 1] = st
  return st
end

function P:policy(p)
  if p ~= "skip" and p ~= "fail" then fail("policy is 'skip' or 'fail'") end
  policy = p
  return self
end

function P:source(s)
  if type(s) ~= "table" or not s.__source then fail("source expects lines(), csv(), stdin(), nats() or jetstream()") end
  if self.src then fail("a pipeline has one source") end
  self.src = s
  return self
end

function P:map(f) add(self, "map", f, "function"); return self end
function P:filter(f) add(self, "filter", f, "function"); return self end
function P:flat_map(f) add(self, "flat_map", f, "function"); return self end
function P:key_by(f) add(self, "key_by", f, "function"); return self end

local function keyed(op, init)
  if type(init) ~= "function" then fail(op .. " expects an initial-value function as 2nd argument", 4) end
  return { init = init, state = {} }
end

function P:reduce(f, init) add(self, "reduce", f, "function", keyed("reduce", init)); return self end
function P:scan(f, init) add(self, "scan", f, "function", keyed("scan", init)); return self end

function P:window(spec)
  local s = unwrap(spec)
  if type(s) ~= "table" then fail("window expects a table { size = N [, slide = M] [, time = FIELD] }") end
  if math.type(s.size) ~= "integer" or s.size <= 0 then fail("window: size must be a positive integer") end
  local slide = s.slide or s.size
  if math.type(slide) ~= "integer" or slide <= 0 or slide > s.size then
    fail("window: slide must be an integer in 1..size")
  end
  if s.time ~= nil and type(s.time) ~= "string" then fail("window: time names a field") end
  local lateness = s.lateness or 0
  if math.type(lateness) ~= "integer" or lateness < 0 then fail("window: lateness must be an integer >= 0") end
  local st = add(self, "window", spec, "table")
  st.size, st.slide, st.time, st.lateness, st.state = s.size, slide, s.time, lateness, {}
  st.watermark = math.mininteger
  return self
end

function P:sink(s)
  if type(s) ~= "table" or not s.__sink then
    fail("sink expects stdout(), csv_out(), jsonl_out(), nats_out() or jetstream_out()")
  end
  local st = add(self, "sink", function() end, "function")
  st.sink = s
  self.sunk = true
  return self
end

local function path_arg(what, p)
  if type(p) ~= "string" or p == "" then fail(what .. " expects a path (or \"-\"), got " .. type(p)) end
  return p
end

function lines(p) return { __source = "lines", path = path_arg("lines", p) } end
function stdin() return { __source = "lines", path = "-" } end
function csv(p, o)
  o = o or {}
  local sep = o.sep or ","
  if type(sep) ~= "string" or #sep ~= 1 then fail("csv: sep is one character") end
  if o.columns ~= nil then
    if type(o.columns) ~= "table" or #o.columns == 0 then fail("csv: columns is a list of names") end
    for _, c in ipairs(o.columns) do
      if type(c) ~= "string" or c:find("\n") then fail("csv: column names are strings") end
    end
    if o.header == false then fail("csv: columns needs the header") end
  end
  return { __source = "csv", path = path_arg("csv", p), header = o.header ~= false, sep = sep,
           columns = o.columns }
end
function stdout() return { __sink = "stdout", path = "-" } end

-- NATS names: subjects are dot-separated tokens (wildcards allowed in a source's), streams and
-- durables A-Z a-z 0-9 - _ (checked here, so that a bad name fails before anything runs).
local function nats_name(what, v, pattern)
  if type(v) ~= "string" or v == "" or #v > 255 or not v:match(pattern) then
    fail(what .. " is not a valid NATS name: " .. tostring(v), 4)
  end
  return v
end
local SUBJECT, NAME = "^[%w%-_%.%*>]+$", "^[%w%-_]+$"

function nats(subject) return { __source = "nats", path = nats_name("nats: subject", subject, SUBJECT) } end
function jetstream(stream, o)
  o = o or {}
  if type(o) ~= "table" then fail("jetstream: options are a table") end
  return { __source = "jetstream", path = nats_name("jetstream: stream", stream, NAME),
           durable = nats_name("jetstream: durable", o.durable or "streams", NAME),
           subject = o.subject and nats_name("jetstream: subject", o.subject, SUBJECT),
           follow = o.follow == true }
end
function nats_out(subject) return { __sink = "nats", path = nats_name("nats_out: subject", subject, "^[%w%-_%.]+$") } end
function jetstream_out(subject)
  return { __sink = "jetstream", path = nats_name("jetstream_out: subject", subject, "^[%w%-_%.]+$") }
end
function jsonl_out(p) return { __sink = "jsonl", path = path_arg("jsonl_out", p) } end
function csv_out(p, o)
  o = o or {}
  if type(o.columns) ~= "table" or #o.columns == 0 then fail("csv_out needs { columns = {...} }") end
  for _, c in ipairs(o.columns) do
    if type(c) ~= "string" then fail("csv_out: column names are strings") end
  end
  return { __sink = "csv", path = path_arg("csv_out", p), columns = o.columns, header = o.header ~= false }
end

-- One line per item: "name N", "policy P", "source KIND HEADER SEP PATH", "column NAME" (the
-- CSV columns kept, when chosen), "durable NAME" and "filter SUBJECT" (a JetStream source's;
-- its HEADER is follow), "stage I OP SECURE", "sink KIND HEADER PATH". Paths and names are last
-- on their lines, so they may hold spaces.
function __ss_describe()
  if not current then error("the file describes no pipeline (call pipeline(name))", 0) end
  if not current.src then error("pipeline " .. current.name .. " has no source", 0) end
  if not current.sunk then error("pipeline " .. current.name .. " has no sink", 0) end
  local out = { "name " .. current.name, "policy " .. policy }
  local s = current.src
  if s.__source == "csv" then
    out[#out + 1] = string.format("source csv %d %d %s", s.header and 1 or 0, s.sep:byte(), s.path)
    for _, c in ipairs(s.columns or {}) do out[#out + 1] = "column " .. c end
  elseif s.__source == "jetstream" then
    out[#out + 1] = "durable " .. s.durable
    if s.subject then out[#out + 1] = "filter " .. s.subject end
    out[#out + 1] = string.format("source jetstream %d 0 %s", s.follow and 1 or 0, s.path)
  else
    out[#out + 1] = string.format("source %s 0 0 %s", s.__source, s.path)
  end
  for i, st in ipairs(stages) do
    if st.op == "key_by" then
      local nx = stages[i + 1]
      if not nx or (nx.op ~= "reduce" and nx.op ~= "scan" and nx.op ~= "window") then
        error("stage " .. i .. ": key_by must be followed by reduce, scan or window", 0)
      end
    end
    out[#out + 1] = string.format("stage %d %s %d", i, st.op, st.secure and 1 or 0)
  end
  local k = stages[#stages].sink
  out[#out + 1] = string.format("sink %s %d %s", k.__sink, k.header and 1 or 0, k.path)
  return table.concat(out, "\n")
end

-- ---- execution ----
local skipped, first_error = 0, nil
local push

local function call(st, ...)
  local ok, a, b = pcall(st.fn, ...)
  if ok then return true, a, b end
  local msg = string.format("stage %d (%s): %s", st.index, st.op, tostring(a))
  if policy == "fail" then error(msg, 0) end
  skipped = skipped + 1
  first_error = first_error or msg
  return false
end

local function csv_field(v)
  local s = v == nil and "" or (math.type(v) == "float" and string.format("%.6f", v) or tostring(v))
  if s:find('[,"\n\r]') then s = '"' .. s:gsub('"', '""') .. '"' end
  return s
end

local function sink_line(st, e)
  local k = st.sink
  if k.__sink == "csv" then
    if type(e) ~= "table" then error(string.format("stage %d (sink): csv_out needs table events", st.index), 0) end
    local row = {}
    for i, c in ipairs(k.columns) do row[i] = csv_field(e[c]) end
    return table.concat(row, ",")
  end
  if k.__sink == "jsonl" or type(e) == "table" then return json.encode(e) end
  return tostring(e)
end

local function keyof(ev, keyed)
  if keyed then return ev[1], ev[2] end
  return true, ev
end

local function sorted_keys(t)
  local ks = {}
  for k in pairs(t) do ks[#ks + 1] = k end
  table.sort(ks, function(a, b)
    local ta, tb = type(a), type(b)
    if ta ~= tb then return ta < tb end
    if ta == "boolean" then return (not a) and b end
    return a < b
  end)
  return ks
end

local function result(keyed, k, v)
  if keyed then return { key = k, value = v } end
  return v
end

local function win_emit(st, keyed, k, w, out_to)
  out_to(result(keyed, k, { start = w.start, stop = w.stop, items = w.items }))
end

-- Event-time windows containing t: starts are multiples of slide, start <= t < start + size.
local function time_window(st, ks, t)
  local first = (t // st.slide) * st.slide
  local s = first
  while s > t - st.size do
    local w = ks.open[s]
    if not w then
      w = { start = s, stop = s + st.size, items = {} }
      ks.open[s] = w
    end
    w.items[#w.items + 1] = ks.cur
    s = s - st.slide
  end
end

local function close_windows(st, keyed, emit_to, all)
  for _, k in ipairs(sorted_keys(st.state)) do
    local ks = st.state[k]
    for _, s in ipairs(sorted_keys(ks.open)) do
      local w = ks.open[s]
      if all or w.stop <= st.watermark then
        ks.open[s] = nil
        win_emit(st, keyed, k, w, emit_to)
      end
    end
  end
end

local function window_event(st, keyed, ev, emit_to)
  local k, e = keyof(ev, keyed)
  local ks = st.state[k]
  if not ks then ks = { n = 0, items = {}, open = {} }; st.state[k] = ks end
  if st.time then
    local t = type(e) == "table" and e[st.time] or nil
    t = math.tointeger(t) or math.tointeger(tonumber(t))
    if not t then error(string.format("stage %d (window): event has no integer field '%s'", st.index, st.time), 0) end
    if t < st.watermark then st.late = (st.late or 0) + 1; return end
    ks.cur = e
    time_window(st, ks, t)
    local wm = t - st.lateness
    if wm > st.watermark then
      st.watermark = wm
      close_windows(st, keyed, emit_to, false)
    end
    return
  end
  ks.n = ks.n + 1
  ks.items[#ks.items + 1] = e
  if #ks.items > st.size then table.remove(ks.items, 1) end
  if st.slide == st.size then
    if #ks.items == st.size then
      emit_to(result(keyed, k, { start = ks.n - st.size, stop = ks.n, items = ks.items }))
      ks.items = {}
    end
  elseif ks.n >= st.size and (ks.n - st.size) % st.slide == 0 then
    emit_to(result(keyed, k, { start = ks.n - st.size, stop = ks.n, items = table.move(ks.items, 1, #ks.items, 1, {}) }))
  end
end

local function flush(st, keyed, emit_to)
  if st.op == "reduce" then
    for _, k in ipairs(sorted_keys(st.state)) do emit_to(result(keyed, k, st.state[k])) end
    st.state = {}
  elseif st.op == "window" then
    if st.time then
      close_windows(st, keyed, emit_to, true)
    elseif st.slide == st.size then
      for _, k in ipairs(sorted_keys(st.state)) do
        local ks = st.state[k]
        if #ks.items > 0 then
          emit_to(result(keyed, k, { start = ks.n - #ks.items, stop = ks.n, items = ks.items }))
        end
      end
    end
    st.state = {}
  end
end

local function is_keyed(i) return i > 1 and stages[i - 1].op == "key_by" end

-- Pushes event ev into stage i; what stage last emits is appended to out. One event moves
-- through the one-in-one-out operators in a loop (no closure or call per stage and event);
-- operators that emit several events or later (flat_map, windows) recurse.
push = function(i, last, ev, out)
  while i <= last do
    local st = stages[i]
    local op = st.op
    if op == "map" then
      local ok, r = call(st, ev)
      if not ok or r == nil then return end
      ev = r
    elseif op == "filter" then
      local ok, r = call(st, ev)
      if not ok or not r then return end
    elseif op == "key_by" then
      local ok, k = call(st, ev)
      if not ok or k == nil then return end
      ev = { k, ev }
    elseif op == "flat_map" then
      local ok, r = call(st, ev)
      if ok and type(r) == "table" then for _, e in ipairs(r) do push(i + 1, last, e, out) end end
      return
    elseif op == "reduce" or op == "scan" then
      local keyed = is_keyed(i)
      local k, e = keyof(ev, keyed)
      local acc = st.state[k]
      if acc == nil then
        local ok, a = call({ fn = st.init, index = st.index, op = op .. " init" })
        if not ok then return end
        acc = a
      end
      local ok, a = call(st, acc, e)
      if not ok then return end
      st.state[k] = a
      if op == "reduce" then return end
      ev = result(keyed, k, a)
    elseif op == "window" then
      local ok, msg = pcall(window_event, st, is_keyed(i), ev, function(e) push(i + 1, last, e, out) end)
      if not ok then
        if policy == "fail" then error(msg, 0) end
        skipped = skipped + 1
        first_error = first_error or msg
      end
      return
    elseif op == "sink" then
      out[#out + 1] = sink_line(st, ev)
      return
    end
    i = i + 1
  end
  out[#out + 1] = ev
end

-- The header line the sink writes first, or nil.
function __ss_header()
  local k = stages[#stages].sink
  if k.__sink == "csv" and k.header then return table.concat(k.columns, ",") end
  return nil
end

-- Runs a batch through stages first..last; with final, then flushes them in order. Returns the
-- output events, the events skipped by the policy in this call and the first error, if any.
function __ss_run(first, last, events, final)
  skipped, first_error = 0, nil
  local out = {}
  for _, ev in ipairs(events) do push(first, last, ev, out) end
  if final then
    for i = first, last do
      flush(stages[i], is_keyed(i), function(e) push(i + 1, last, e, out) end)
    end
  end
  return out, skipped, first_error
end

-- The state of stages first..last for a distributed stage's sealed checkpoint, and back.
function __ss_checkpoint(first, last)
  local t = {}
  for i = first, last do
    local st = stages[i]
    t[#t + 1] = { state = st.state or false, watermark = st.watermark or false, late = st.late or 0 }
  end
  return t
end

function __ss_restore(first, last, t)
  for i = first, last do
    local s, st = t[i - first + 1], stages[i]
    if type(s) ~= "table" then error("malformed checkpoint", 0) end
    if s.state then st.state = s.state end
    if s.watermark then st.watermark = s.watermark end
    st.late = s.late
  end
end
