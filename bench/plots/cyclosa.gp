# cyclosa.gp -- bench_cyclosa's CSV (metric,system,k,a,b,c): the end-to-end latency through the
# network against k, and the engine load per node against X-Search's single proxy.
set datafile separator ","
set terminal pngcairo size 1000,420 font ",10" noenhanced
set output png
set multiplot layout 1,2 title "Cyclosa, 100 nodes on this machine, synthetic AOL100-like log"
set grid
set key top left font ",8"
rows(m, s) = sprintf("< awk -F, '$1 == \"%s\" && $2 == \"%s\"' '%s'", m, s, csv)
set xlabel "k (fake queries)"
set title "latency of one search (engine included)"
set ylabel "ms"
plot rows("latency", "cyclosa") using 3:4 with linespoints title "p50", \
     rows("latency", "cyclosa") using 3:5 with linespoints dt 2 title "p99"
set title "engine load"
set ylabel "queries per hour"
set logscale y
plot rows("load", "xsearch") using 3:4 with linespoints title "X-Search's proxy", \
     rows("load", "cyclosa") using 3:4 with linespoints title "Cyclosa node (mean)", \
     rows("load", "cyclosa") using 3:5 with linespoints dt 2 title "Cyclosa node (busiest)"
unset multiplot
