# xsearch.gp -- bench_xsearch's CSV (metric,system,k,a,b,c), in the shape of X-Search's Fig. 5:
# SimAttack's re-identification rate against k for every baseline, X-Search and Cyclosa, the
# accuracy of both filters against k, and the latency through the proxy against k (with, as a
# label, the proxy's throughput with the engine's answers cached beside the issue's 25,000/s).
set datafile separator ","
set terminal pngcairo size 1500,480 font ",10" noenhanced
set output png
set multiplot layout 1,3 title "X-Search and baselines, synthetic AOL100-like log, this machine"
set grid
set key top right font ",8"
rows(m, s) = sprintf("< awk -F, '$1 == \"%s\" && $2 == \"%s\"' '%s'", m, s, csv)
set xlabel "k (fake queries)"
set ylabel "re-identification rate"
set yrange [0:1.05]
set title "SimAttack"
plot rows("reid", "direct") using 3:4 with points pt 7 title "direct (no protection)", \
     rows("reid", "tor") using 3:4 with points pt 5 ps 1.5 title "Tor-like (k = 0)", \
     rows("reid", "trackmenot") using 3:4 with linespoints title "TrackMeNot-style (recall)", \
     rows("reid", "trackmenot") using 3:5 with linespoints dt 2 title "TrackMeNot-style (precision)", \
     rows("reid", "goopir") using 3:4 with linespoints title "GooPIR-style", \
     rows("reid", "xsearch") using 3:4 with linespoints lw 2 title "X-Search", \
     rows("reid", "cyclosa-linked") using 3:4 with linespoints lw 2 title "Cyclosa, a search's messages linked", \
     rows("reid", "cyclosa") using 3:4 with linespoints lw 2 title "Cyclosa per message (recall)", \
     rows("reid", "cyclosa") using 3:5 with linespoints lw 2 dt 2 title "Cyclosa per message (precision)", \
     rows("reid", "cyclosa-adaptive") using 3:5 with points pt 9 ps 1.5 title "Cyclosa adaptive k (precision)"
set title "accuracy of the filtered results"
set ylabel "precision / recall"
plot rows("accuracy", "words") using 3:4 with linespoints title "words: precision", \
     rows("accuracy", "words") using 3:5 with linespoints dt 2 title "words: recall", \
     rows("accuracy", "match") using 3:4 with linespoints title "match: precision", \
     rows("accuracy", "match") using 3:5 with linespoints dt 2 title "match: recall"
set title "latency through the proxy (engine included)"
tp = system(sprintf("awk -F, '$1 == \"throughput\" {print $4}' '%s'", csv))
set label 1 sprintf("cached answers: %s requests/s (target 25,000)", tp) at graph 0.03, 0.95
set ylabel "ms"
set autoscale y
set logscale y
plot rows("latency", "xsearch") using 3:4 with linespoints title "X-Search p50", \
     rows("latency", "xsearch") using 3:5 with linespoints dt 2 title "X-Search p99", \
     rows("latency", "direct") using 3:4 with points pt 7 title "engine direct p50"
unset multiplot
