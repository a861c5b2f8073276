# scbr_shard.gp -- bench_scbr_shard's CSV. Left: publications per second delivered against the
# number of subscriptions, in multiples of one enclave's EPC budget, for one router enclave
# (shards 0), fronts with 2, 4 and 8 shards partitioned by id and one with 4 shards partitioned
# by an attribute (column 7, "key"). Right: p99 latency of one publication at a time.
set datafile separator ","
set terminal pngcairo noenhanced size 1200,520 font ",10"
set output png
set multiplot layout 1,2 title "SCBR sharded over NATS: naive index, proc enclaves, one machine"
set logscale x 2
set logscale y
set xlabel "subscriptions (multiples of one enclave's EPC budget)"
set grid
set key top right
set title "throughput"
set ylabel "publications per second (log scale)"
plot for [n in "0 2 4 8"] csv skip 1 using ($1 == n && strcol(7) ne "key" ? $3 : 1/0):4 \
     with linespoints lw 2 pt 7 title (n eq "0" ? "one router" : n." shards by id"), \
     csv skip 1 using (strcol(7) eq "key" ? $3 : 1/0):4 with linespoints lw 2 pt 5 dt 2 \
     title "4 shards by attribute"
set title "latency, one publication at a time"
set ylabel "p99 microseconds (log scale)"
plot for [n in "0 2 4 8"] csv skip 1 using ($1 == n && strcol(7) ne "key" ? $3 : 1/0):6 \
     with linespoints lw 2 pt 7 title (n eq "0" ? "one router" : n." shards by id"), \
     csv skip 1 using (strcol(7) eq "key" ? $3 : 1/0):6 with linespoints lw 2 pt 5 dt 2 \
     title "4 shards by attribute"
unset multiplot
