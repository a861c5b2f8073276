# scbr_match.gp -- thesis Figure 2 from bench_scbr_match's CSV: matching time per publication
# against the number of subscriptions for every engine and placement (a); the same per
# subscription, against the index size, with the L3 and the EPC budget marked, where the cache
# step and the EPC cliff show (b); registration time (c); index bytes per subscription (d).
set datafile separator ","
set terminal pngcairo noenhanced size 1400,1000 font ",10"
set output png
stats csv using 15 every ::1::1 nooutput
llc = STATS_max
stats csv using 16 every ::1::1 nooutput
epc = STATS_max
sel(e, p, col) = (strcol(1) eq e && strcol(2) eq p) ? column(col) : 1/0
per_sub(e, p) = (strcol(1) eq e && strcol(2) eq p) ? column(5) * 1000 / column(3) : 1/0
set multiplot layout 2,2 title "SCBR matching, stock-quote workload (shared 2-core VM; medians of batches)"
set logscale xy
set grid xtics ytics mxtics mytics
set key top left
set xlabel "subscriptions"
set ylabel "us per publication"
set title "(a) matching time per publication"
plot csv skip 1 using 3:(sel("fast","native",5)) with linespoints pt 7 lc rgb "#1e8449" title "fast, native", \
     csv skip 1 using 3:(sel("fast","enclave",5)) with linespoints pt 6 dt 2 lc rgb "#1e8449" title "fast, proc enclave", \
     csv skip 1 using 3:(sel("poset","native",5)) with linespoints pt 5 lc rgb "#2e86c1" title "poset (original SCBR), native", \
     csv skip 1 using 3:(sel("poset","enclave",5)) with linespoints pt 4 dt 2 lc rgb "#2e86c1" title "poset, proc enclave", \
     csv skip 1 using 3:(sel("naive","native",5)) with linespoints pt 9 lc rgb "#7f8c8d" title "naive scan (baseline), native", \
     csv skip 1 using 3:(sel("naive","enclave",5)) with linespoints pt 8 dt 2 lc rgb "#7f8c8d" title "naive scan, proc enclave", \
     csv skip 1 using 3:(sel("aspe","native",5)) with linespoints pt 11 lc rgb "#c0392b" title "ASPE (encrypted), native"
set title "(b) per subscription: the L3 step and the EPC cliff"
set xlabel "index size (MiB)"
set ylabel "ns per publication per subscription"
set arrow 1 from llc, graph 0 to llc, graph 1 nohead dt 3 lw 2 lc rgb "gray40"
set arrow 2 from epc, graph 0 to epc, graph 1 nohead dt 2 lw 2 lc rgb "red"
set label 1 "L3" at llc, graph 0.95 offset 0.5,0
set label 2 "EPC budget" at epc, graph 0.95 offset 0.5,0 tc rgb "red"
plot csv skip 1 using 14:(per_sub("fast","native")) with linespoints pt 7 lc rgb "#1e8449" title "fast, native", \
     csv skip 1 using 14:(per_sub("fast","enclave")) with linespoints pt 6 dt 2 lc rgb "#1e8449" title "fast, enclave", \
     csv skip 1 using 14:(per_sub("poset","native")) with linespoints pt 5 lc rgb "#2e86c1" title "poset, native", \
     csv skip 1 using 14:(per_sub("poset","enclave")) with linespoints pt 4 dt 2 lc rgb "#2e86c1" title "poset, enclave", \
     csv skip 1 using 14:(per_sub("naive","native")) with linespoints pt 9 lc rgb "#7f8c8d" title "naive, native", \
     csv skip 1 using 14:(per_sub("naive","enclave")) with linespoints pt 8 dt 2 lc rgb "#7f8c8d" title "naive, enclave"
unset arrow 1
unset arrow 2
unset label 1
unset label 2
set title "(c) registration: building the index from empty"
set xlabel "subscriptions"
set ylabel "seconds"
plot csv skip 1 using 3:(sel("fast","native",12)) with linespoints pt 7 lc rgb "#1e8449" title "fast, native", \
     csv skip 1 using 3:(sel("fast","enclave",12)) with linespoints pt 6 dt 2 lc rgb "#1e8449" title "fast, enclave (encode + ecalls)", \
     csv skip 1 using 3:(sel("poset","native",12)) with linespoints pt 5 lc rgb "#2e86c1" title "poset, native", \
     csv skip 1 using 3:(sel("poset","enclave",12)) with linespoints pt 4 dt 2 lc rgb "#2e86c1" title "poset, enclave", \
     csv skip 1 using 3:(sel("naive","native",12)) with linespoints pt 9 lc rgb "#7f8c8d" title "naive, native", \
     csv skip 1 using 3:(sel("aspe","native",12)) with linespoints pt 11 lc rgb "#c0392b" title "ASPE (encryption)"
set title "(d) index memory"
set ylabel "bytes per subscription"
set logscale x
unset logscale y
set yrange [0:*]
plot csv skip 1 using 3:(sel("fast","native",10)) with linespoints pt 7 lc rgb "#1e8449" title "fast", \
     csv skip 1 using 3:(sel("poset","native",10)) with linespoints pt 5 lc rgb "#2e86c1" title "poset", \
     csv skip 1 using 3:(sel("naive","native",10)) with linespoints pt 9 lc rgb "#7f8c8d" title "naive", \
     csv skip 1 using 3:(sel("aspe","native",10)) with linespoints pt 11 lc rgb "#c0392b" title "ASPE"
unset multiplot
