# mapreduce.gp -- bench_mapreduce's CSV: throughput (MB/s of input, log scale) of word count
# (left) and k-means (right) for the C reference, the same Lua with no enclave, sim, proc and
# proc under a small EPC budget, and proc over a local nats-server; one bar per worker count (1, 2, 4) in each group.
set datafile separator ","
set terminal pngcairo noenhanced size 1500,520 font ",10"
set output png
set multiplot layout 1,2 title "MapReduce throughput: C reference vs the same Lua job in and out of enclaves"
mode(s) = s eq "c" ? 0 : s eq "lua-none" ? 1 : s eq "lua-sim" ? 2 : s eq "lua-proc" ? 3 : s eq "lua-proc-small-epc" ? 4 : 5
slot(w) = w == 1 ? 0 : w == 2 ? 1 : 2
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y
set ylabel "MB/s of input (log scale)"
set grid ytics
set key top right
set xrange [-1:23]
set xtics ("C" 1, "Lua none" 5, "Lua sim" 9, "Lua proc" 13, "proc, small EPC" 17, "proc, NATS" 21) scale 0
do for [app in "wordcount kmeans"] {
  set title app
  plot for [w in "1 2 4"] csv skip 1 \
       using (strcol(1) eq app && $3 == w ? 4 * mode(strcol(2)) + slot($3) : 1/0):4 \
       with boxes title sprintf("%s worker%s", w, w eq "1" ? "" : "s")
}
unset multiplot
