# scbr_router.gp -- bench_scbr_router's CSV. Left: publications per second delivered end to end
# at saturation against the router's batch size (publications per ecall); batch 1, one ecall
# per message as in the original SCBR, is the baseline of the same run; the dashed line is the
# 100k/s target. Right: p50 and p99 latency of the paced runs (offered rate, batch).
set datafile separator ","
set terminal pngcairo noenhanced size 1200,520 font ",10"
set output png
set multiplot layout 1,2 title "SCBR router over loopback: proc enclave, fast index, 1,000 subscriptions"

set title "throughput at saturation"
set logscale x 2
set logscale y
set xlabel "publications per ecall (batch)"
set ylabel "publications per second (log scale)"
set xtics (1, 16, 64, 256)
set xrange [0.8:320]
set grid
set key top left
plot csv skip 1 using ($1 == 0 ? $2 : 1/0):5 with linespoints lw 2 pt 7 title "delivered pubs/s", \
     100000 with lines dt 2 lc rgb "#999999" title "target 100k/s"

unset logscale x
unset xrange
set title "latency at a fixed offered rate"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y
set ylabel "microseconds (log scale)"
set xlabel "offered rate, router batch size"
set xtics rotate by 0 scale 0
# the paced rows follow the four saturation rows
plot csv skip 1 every ::4 using 6:xtic(sprintf("%gk/s, batch %d", $1 / 1000, $2)) \
         title "p50" lc rgb "#2c3e50", \
     ''  skip 1 every ::4 using 7 title "p99" lc rgb "#e67e22"
unset multiplot
