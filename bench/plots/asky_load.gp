# asky_load.gp -- bench_asky_load's CSV (table,workload,size,churn,ops,reads,writes,failed,
# seconds,ops_per_s,churn_per_s): YCSB-like mixes A, B, C on 1 KiB and 64 KiB objects, without
# and with concurrent membership churn, beside the paper's 1 KiB figures (628 op/s write-only,
# 4,100 op/s read-only on a Xeon E3-1270 v6). The VOD trace's row is printed, not drawn.
set datafile separator ","
set terminal pngcairo size 1000,480 font ",10" noenhanced
set output png
set title "A-Sky YCSB-like workloads: operations/s, this machine"
set style data histograms
set style fill solid 0.8 border -1
set boxwidth 0.8
set grid ytics
set logscale y
set ylabel "operations/s (log)"
set xtics rotate by -20
set key top left
plot csv using (strcol(1) eq "ycsb" ? column(10) : 1/0):xtic(strcol(1) eq "ycsb" ? \
       sprintf("%s %dK%s", strcol(2), column(3)/1024, column(4) > 0 ? " churn" : "") : "") every ::1 \
       title "ops/s", \
     628 with lines lw 2 dt 2 title "paper, 1 KiB write-only (628/s)", \
     4100 with lines lw 2 dt 3 title "paper, 1 KiB read-only (4,100/s)"
