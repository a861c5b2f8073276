# mr_shuffle.gp -- bench_mr_shuffle's CSV: MapReduce's shuffle through the NATS transport on
# loopback (storing chunks: put; reading them back by address: get) against the chunk size, in
# MB/s (10^6 bytes); chunks beyond the server's 8 MiB max_payload travel as pieces. The grey
# lines are the in-process transport (chunks as files) measured in the same run; the dashed line
# is the 200 MB/s target.
set datafile separator ","
set terminal pngcairo noenhanced size 900,520 font ",10"
set output png
rows(t, op) = sprintf("< grep '^%s,%s,' '%s'", t, op, csv)
set title "MapReduce shuffle over NATS JetStream (loopback), 128 MiB per run, 8 partitions"
set logscale x 2
set logscale y
set xtics (256, 1024, 4096, 16384, 32768)
set xrange [200:40000]
set xlabel "chunk size (KiB)"
set ylabel "MB/s (log scale)"
set grid
set key bottom right
plot rows("nats", "put") using 3:7 with linespoints lw 2 pt 7 lc rgb "#2c3e50" title "NATS put (publish + ack)", \
     rows("nats", "get") using 3:7 with linespoints lw 2 pt 5 lc rgb "#e67e22" title "NATS get (a reducer's consumer)", \
     rows("in-process (baseline)", "put") using 3:7 with linespoints lw 1 pt 1 lc rgb "#999999" title "in-process put (baseline)", \
     rows("in-process (baseline)", "get") using 3:7 with linespoints lw 1 pt 2 lc rgb "#bbbbbb" title "in-process get (baseline)", \
     200 with lines dt 2 lc rgb "#c0392b" title "target 200 MB/s"
