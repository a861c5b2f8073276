# bus.gp -- bench_bus's CSV: loopback shuffle throughput through NATS JetStream (MB/s, 10^6
# bytes) against the message size, for publishing (async, acked), consuming (fetch + ack) and
# both at once (pipelined), with the server's file store (left) and memory store (right). The
# grey line is one plain TCP stream through loopback, measured in the same run; the dashed line
# is the 200 MB/s target.
set datafile separator ","
set terminal pngcairo noenhanced size 1200,520 font ",10"
set output png
# the rows of one mode and storage, so each series is one unbroken line
rows(m, s) = sprintf("< grep '^%s,%s,' '%s'", m, s, csv)
set multiplot layout 1,2 title "NATS JetStream shuffle over loopback: one limits stream, 8 partitions, 256 MiB per run"
set logscale x 2
set logscale y
set xtics (64, 128, 256, 512, 1024)
set xrange [48:1400]
set yrange [30:6000]
set xlabel "message size (KiB)"
set ylabel "MB/s (log scale)"
set grid
set key bottom right
do for [st in "file memory"] {
  set title sprintf("%s store", st)
  plot rows("publish", st) using 3:7 with linespoints lw 2 pt 7 lc rgb "#2c3e50" title "publish", \
       rows("consume", st) using 3:7 with linespoints lw 2 pt 5 lc rgb "#e67e22" title "consume", \
       rows("pipelined", st) using 3:7 with linespoints lw 2 pt 9 lc rgb "#27ae60" title "pipelined", \
       rows("tcp_baseline", "-") using 3:7 with linespoints lw 1 pt 1 lc rgb "#999999" title "TCP loopback (baseline)", \
       200 with lines dt 2 lc rgb "#c0392b" title "target 200 MB/s"
}
unset multiplot
