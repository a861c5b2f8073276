# tee.gp -- bench_tee's CSV. Left: one ecall round trip (64 B in and out), p50 and p99, per
# backend and waiting mode, beside the in-process call baseline of the same run and the
# published SGX SDK ecall cost on this machine's clock (log scale); these rows come first. Right: batched throughput,
# messages per second against the batch size.
set datafile separator ","
set terminal pngcairo noenhanced size 1200,520 font ",10"
set output png
stats csv skip 1 using (strcol(1) eq "throughput" ? 0 : 1) nooutput
nlat = int(STATS_sum)
set multiplot layout 1,2 title "enclave boundary: cloister tee backends (same run, same machine)"

set title "ecall round trip, 64 B in / 64 B out"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y
set ylabel "microseconds (log scale)"
set grid ytics
set key top left
set xtics rotate by -30 scale 0
plot csv skip 1 every ::0::(nlat-1) using 4:xtic(strcol(2)) title "p50" lc rgb "#2c3e50", \
     ''  skip 1 every ::0::(nlat-1) using 5 title "p99" lc rgb "#e67e22"

set title "batched throughput"
set style data linespoints
set logscale x 2
set logscale y
set xlabel "ecalls per crossing"
set ylabel "ecalls per second (log scale)"
set xtics (1, 16, 256) rotate by 0
set xrange [0.8:320]
plot for [v in "sim proc_spin_cross_core proc_block_same_core"] \
     csv skip 1 using (strcol(1) eq "throughput" && strcol(2) eq v ? $3 : 1/0):6 title v lw 2
unset multiplot
