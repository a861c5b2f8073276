-- wordcount.lua: how often each word occurs. A word is a run of ASCII letters, lowercased.
--   cloister mapreduce gen text --size 100MiB --output corpus.txt
--   cloister mapreduce run --job wordcount.lua --input corpus.txt --output out --allow-simulated
local gmatch, lower = string.gmatch, string.lower

function map(file, line)
  for word in gmatch(line, "%a+") do
    emit(lower(word), 1)
  end
end

-- Runs on each map task's output, per word: one count instead of many 1s crosses the shuffle.
function combine(word, counts)
  local n = 0
  for i = 1, #counts do n = n + counts[i] end
  return n
end

reduce = combine
