-- grep.lua: the lines of each file that contain PATTERN (a plain substring, not a Lua pattern).
-- Output: one result per file, its matching lines in input order within each split.
PATTERN = "secret"

function map(file, line)
  if line:find(PATTERN, 1, true) then emit(file, line) end
end

function reduce(file, lines)
  return lines
end
