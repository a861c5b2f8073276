-- flights.lua -- the SecureStreams paper's pipeline (DEBS 2017) over the Data Expo 2009 on-time
-- CSV: per carrier, the number of flights that arrived late (ArrDelay > 0) and their mean delay.
--   cloister streams gen flights --rows 100000 --out 2008.csv
--   cloister streams run examples/streams/flights.lua --param input=2008.csv --param output=delays.csv
-- The filter and the per-carrier reduce run in enclaves (secure): their state never leaves them.
-- Only the two columns the pipeline reads are turned into events (the other 27 are skipped).
return pipeline("flights")
  :source(csv(param.input or "2008.csv", { header = true, columns = { "UniqueCarrier", "ArrDelay" } }))
  :map(function(r) return { carrier = r.UniqueCarrier, delay = tonumber(r.ArrDelay) } end)
  :filter(secure(function(r) return r.delay ~= nil and r.delay > 0 end))
  :key_by(function(r) return r.carrier end)
  :reduce(secure(function(acc, r)
            acc.n = acc.n + 1
            acc.sum = acc.sum + r.delay
            return acc
          end),
          function() return { n = 0, sum = 0 } end)
  :map(function(kv)
         return { carrier = kv.key, late_flights = kv.value.n, avg_delay = kv.value.sum / kv.value.n }
       end)
  :sink(csv_out(param.output or "-", { columns = { "carrier", "late_flights", "avg_delay" } }))
