# tee_trust.gp -- bench_tee_trust's CSV: each trust operation beside the bare primitive it is
# built from (measured in the same run) and its target where one is set (log scale): the
# published cost of that primitive plus a small margin, since a trust service should cost about
# its one primitive (bench_tee_trust.c lists them).
set datafile separator ","
set terminal pngcairo size 1100,520 font ",10"
set output png
set title "cloister trust services: ours vs. the primitive underneath vs. target (same run)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics
set key top left
set xtics rotate by -25 scale 0
set ylabel "microseconds per operation (log scale)"
set logscale y
set yrange [0.1:*]
plot csv skip 1 using 2:xtic(1) title "cloister" lc rgb "#2c3e50", \
     ''  skip 1 using 4 title "primitive (baseline)" lc rgb "#e67e22", \
     ''  skip 1 using ($5 > 0 ? $5 : 1/0) title "target" lc rgb "#27ae60"
