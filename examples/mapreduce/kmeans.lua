-- kmeans.lua: k-means clustering of points given as CSV lines of coordinates.
--   cloister mapreduce gen points --n 1000000 --k 8 --dim 2 --output points.csv
--   cloister mapreduce run --job kmeans.lua --input points.csv --output out --allow-simulated
-- The client calls init on the first records to pick the first K distinct points as centres;
-- each round maps every point to its closest centre (params.centres, set by the engine in
-- every task), reduces each cluster to its mean, and next_round, on the client, stops once no
-- centre moved more than 1e-3 of the diagonal of the data's bounding box.
K = 8
local huge, sqrt, tonumber = math.huge, math.sqrt, tonumber

local function point(fields)
  local p = {}
  for i = 1, #fields do p[i] = tonumber(fields[i]) end
  return p
end

function init(records)
  local centres, seen = {}, {}
  for i = 1, #records do
    local key = table.concat(records[i].value, ",")
    if not seen[key] then
      seen[key] = true
      centres[#centres + 1] = point(records[i].value)
      if #centres == K then break end
    end
  end
  return {centres = centres}
end

function map(file, fields)
  local p, cs = point(fields), params.centres
  local best, bestd = 1, huge
  for i = 1, #cs do
    local c, d = cs[i], 0
    for j = 1, #p do
      local x = p[j] - c[j]
      d = d + x * x
    end
    if d < bestd then best, bestd = i, d end
  end
  emit(best, p)
end

-- The points of one cluster in one split: their sum, count and bounding box.
function combine(c, points)
  local sum, mn, mx = {}, {}, {}
  for j = 1, #points[1] do sum[j], mn[j], mx[j] = 0, huge, -huge end
  for i = 1, #points do
    local p = points[i]
    for j = 1, #p do
      local x = p[j]
      sum[j] = sum[j] + x
      if x < mn[j] then mn[j] = x end
      if x > mx[j] then mx[j] = x end
    end
  end
  return {sum = sum, n = #points, min = mn, max = mx}
end

function reduce(c, parts)
  local sum, n, mn, mx = {}, 0, {}, {}
  for j = 1, #parts[1].sum do sum[j], mn[j], mx[j] = 0, huge, -huge end
  for i = 1, #parts do
    local a = parts[i]
    n = n + a.n
    for j = 1, #sum do
      sum[j] = sum[j] + a.sum[j]
      if a.min[j] < mn[j] then mn[j] = a.min[j] end
      if a.max[j] > mx[j] then mx[j] = a.max[j] end
    end
  end
  local centre = {}
  for j = 1, #sum do centre[j] = sum[j] / n end
  return {centre = centre, n = n, min = mn, max = mx}
end

function next_round(results, round, p)
  local centres, mn, mx, moved = {}, {}, {}, 0
  for i = 1, #p.centres do centres[i] = p.centres[i] end
  for _, r in ipairs(results) do
    local old, new = p.centres[r.key], r.value.centre
    local d = 0
    for j = 1, #new do
      d = d + (new[j] - old[j]) ^ 2
      mn[j] = math.min(mn[j] or huge, r.value.min[j])
      mx[j] = math.max(mx[j] or -huge, r.value.max[j])
    end
    if sqrt(d) > moved then moved = sqrt(d) end
    centres[r.key] = new
  end
  local diag = 0
  for j = 1, #mn do diag = diag + (mx[j] - mn[j]) ^ 2 end
  print(string.format("round %d: centres moved %.6g (diagonal %.6g)", round, moved, sqrt(diag)))
  if moved < 1e-3 * sqrt(diag) then return nil end
  return {centres = centres}
end
