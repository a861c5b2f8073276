# epc.gp -- the memory cliff (thesis Figure 2b) from bench_epc's CSV: nanoseconds and faults per
# access against the working set, with and without an EPC budget, random and sequential.
# Vertical lines: L2, the EPC budget, and the LLC size the VM reports.
set datafile separator ","
set terminal pngcairo noenhanced size 1100,950 font ",10"
set output png
stats csv using 11 every ::1::1 nooutput
budget = STATS_max
stats csv using 12 every ::1::1 nooutput
l2 = STATS_max
stats csv using 13 every ::1::1 nooutput
llc = STATS_max
sel(p, m, col) = (strcol(1) eq p && strcol(2) eq m) ? column(col) : 1/0
set multiplot layout 2,1 title sprintf("EPC emulation: the memory cliff (budget %.1f MiB, real paging with AES-256-GCM)", budget)
set logscale xy
set grid xtics ytics mxtics
set xlabel "working set (MiB)"
set key top left
set arrow 1 from l2, graph 0 to l2, graph 1 nohead dt 3 lc rgb "gray40"
set arrow 2 from budget, graph 0 to budget, graph 1 nohead dt 2 lw 2 lc rgb "red"
set arrow 3 from llc, graph 0 to llc, graph 1 nohead dt 3 lc rgb "gray40"
set label 1 "L2" at l2, graph 0.95 offset 0.5,0
set label 2 "EPC budget" at budget, graph 0.95 offset 0.5,0 tc rgb "red"
set label 3 "LLC (reported)" at llc, graph 0.95 offset 0.5,0
set ylabel "ns per access"
plot csv skip 1 using 5:(sel("random","epc",8)) with linespoints pt 7 lc rgb "#c0392b" title "random, EPC budget", \
     csv skip 1 using 5:(sel("random","unlimited",8)) with linespoints pt 6 lc rgb "#e67e22" title "random, no budget", \
     csv skip 1 using 5:(sel("sequential","epc",8)) with linespoints pt 5 lc rgb "#2c3e50" title "sequential, EPC budget", \
     csv skip 1 using 5:(sel("sequential","unlimited",8)) with linespoints pt 4 lc rgb "#3498db" title "sequential, no budget"
unset logscale y
set logscale x
set ylabel "faults per access"
set yrange [0:1]
plot csv skip 1 using 5:(sel("random","epc",9)) with linespoints pt 7 lc rgb "#c0392b" title "random", \
     csv skip 1 using 5:(sel("sequential","epc",9)) with linespoints pt 5 lc rgb "#2c3e50" title "sequential (1/64 above the budget)"
unset multiplot
