-- inverted_index.lua: for each word (ASCII letters, lowercased), the sorted list of the files
-- it occurs in.
local gmatch, lower = string.gmatch, string.lower

function map(file, line)
  for word in gmatch(line, "%a+") do emit(lower(word), file) end
end

local function union(word, lists)
  local seen, out = {}, {}
  for i = 1, #lists do
    local l = lists[i]
    if type(l) == "string" then l = {l} end
    for j = 1, #l do
      if not seen[l[j]] then seen[l[j]] = true; out[#out + 1] = l[j] end
    end
  end
  table.sort(out)
  return out
end

-- combine sees the file names map emitted; reduce sees the lists combine returned.
combine = union
reduce = union
