# epc_fault.gp -- cost of one EPC fault (evict + load) per mechanism, from bench_epc_fault's CSV,
# against SGX's published ~40,000 cycles per page swap and the 0.5-2x target band.
set datafile separator ","
set terminal pngcairo noenhanced size 900,550 font ",10"
set output png
stats csv using 11 every ::1::1 nooutput
sgx = STATS_max
set title "Cost per EPC fault: measured here vs SGX EWB+ELDU (~40,000 cycles)"
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set ylabel "microseconds per fault"
stats csv using 7 nooutput
set yrange [0:(STATS_max > sgx*2.1 ? STATS_max*1.1 : sgx*2.3)]
set grid ytics
set key outside bottom center horizontal
set xtics nomirror
set object 1 rect from graph 0, first sgx*0.5 to graph 1, first sgx*2 fc rgb "#2ecc71" fs transparent solid 0.15 noborder behind
set arrow 1 from graph 0, first sgx to graph 1, first sgx nohead lw 2 dt 2 lc rgb "#27ae60"
set label 1 sprintf("SGX ~40k cycles = %.1f us here; band: 0.5-2x", sgx) at graph 0.02, first sgx*2.1 tc rgb "#27ae60"
set xtics rotate by -30
plot csv skip 1 using 7:xtic(sprintf("%s %s %sx", strcol(1), strcol(13), strcol(3))) title "per fault (total)" lc rgb "#c0392b", \
     csv skip 1 using 9 title "inside the handler" lc rgb "#e67e22", \
     csv skip 1 using 14 title "CPU time per fault" lc rgb "#8e44ad", \
     csv skip 1 using 10 title "AES-256-GCM seal+open 4 KiB" lc rgb "#3498db"
