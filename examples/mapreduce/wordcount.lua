-- wordcount.lua: how often each word occurs. A word is a run of ASCII letters, lowercased.
--   cloister mapreduce gen text --size 100MiB --output corpus.txt
--   cloister mapreduce run --job wordcount.lua --input corpus.txt --output out --allow-simulated
local gmatch, lower = string.gmatch, string.lower

-- The line is lowercased once, not word by word: one string made per line instead of two per
-- word (lowering touches letters only, so the words are the same).
function map(file, line)
  for word in gmatch(lower(line), "%a+") do
    emit(word, 1)
  end
end

-- Runs on each map task's output, per word: one count instead of many 1s crosses the shuffle.
function combine(word, counts)
  local n = 0
  for i = 1, #counts do n = n + counts[i] end
  return n
end

reduce = combine
