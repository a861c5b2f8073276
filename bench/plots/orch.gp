# orch.gp -- bench_orch's CSV (kind,policy,sgx_fraction,x,y): CDFs of waiting time and
# turnaround for binpack (solid) and spread (dashed) at each SGX fraction, the random baseline
# at 1.0 (dotted); EPC utilisation over time; refused enclaves and over-commit events against
# dishonest pods; decision time against nodes (random: the baseline), targets dashed.
set datafile separator ","
set terminal pngcairo noenhanced size 1500,900 font ",10"
set output png
set multiplot layout 2,3 title "SGX-aware orchestration: 663 jobs at 4/s, 2 SGX nodes (93.5 MiB EPC) + 3 standard"
set key bottom right font ",8"
set grid
set ylabel "fraction of jobs"
set yrange [0:1]
set logscale x
set xrange [0.1:*]
f(p,s) = sprintf("< grep '^%s,%s,%s,' %s", k, p, s, csv)
set title "waiting time CDF"
set xlabel "seconds (log; 0 s waits at 0.1)"
k = "wait_cdf"
plot for [s in "0.00 0.25 0.50 0.75 1.00"] f("binpack", s) using ($4 < 0.1 ? 0.1 : $4):5 with lines lw 2 title "binpack ".s, \
     for [s in "0.00 0.25 0.50 0.75 1.00"] f("spread", s) using ($4 < 0.1 ? 0.1 : $4):5 with lines dt 2 lw 2 title "spread ".s, \
     f("random", "1.00") using ($4 < 0.1 ? 0.1 : $4):5 with lines dt 3 lw 2 lc rgb "black" title "random 1.00"
set title "turnaround CDF"
set xlabel "seconds (log)"
set xrange [1:*]
k = "turn_cdf"
plot for [s in "0.00 0.25 0.50 0.75 1.00"] f("binpack", s) using 4:5 with lines lw 2 title "binpack ".s, \
     for [s in "0.00 0.25 0.50 0.75 1.00"] f("spread", s) using 4:5 with lines dt 2 lw 2 title "spread ".s, \
     f("random", "1.00") using 4:5 with lines dt 3 lw 2 lc rgb "black" title "random 1.00"
unset logscale x
set xrange [*:*]
set yrange [0:*]
set title "EPC utilisation of the SGX nodes, SGX fraction 0.5"
set xlabel "seconds"
set ylabel "fraction of EPC"
k = "util"
plot f("binpack", "0.50") using 4:5 with lines lw 2 title "binpack", \
     f("spread", "0.50") using 4:5 with lines dt 2 lw 2 title "spread"
set title "dishonest pods (request one page): refused vs over-commit"
set xlabel "fraction of dishonest SGX pods"
set ylabel "events"
k = "refused"
plot f("enforce", "1.00") using 4:5 with linespoints lw 2 pt 7 title "enclaves refused (EPC groups)", \
     f("none", "1.00") using 4:5 with linespoints lw 2 pt 5 title "EPC over-commit events (no groups)"
set title "scheduling decision"
set xlabel "nodes"
set ylabel "microseconds"
set logscale xy
set xrange [50:2000]
set yrange [*:*]
k = "decision"
plot f("binpack", "") using 4:($5/1000) with linespoints lw 2 pt 7 title "binpack", \
     f("spread", "") using 4:($5/1000) with linespoints lw 2 pt 5 title "spread", \
     f("random", "") using 4:($5/1000) with linespoints lw 2 pt 9 title "random (baseline)", \
     "< printf '100,100\n1000,1000\n'" using 1:2 with lines dt 2 lc rgb "#c0392b" title "target (100 us at 100, 1 ms at 1,000)"
unset multiplot
