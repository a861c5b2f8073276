# streams.gp -- bench_streams's CSV: events/s of the flights pipeline in the embedded engine,
# plain ("none"), with the paper's secure filter and reduce ("paper") and with every stage
# secure ("all"), in proc and sim enclaves (left), and the paper configuration in proc enclaves
# against the batch size (right). Dashed: the 300k events/s target.
set datafile separator ","
set terminal pngcairo noenhanced size 1200,520 font ",10"
set output png
set multiplot layout 1,2 title "SecureStreams: flights pipeline, embedded engine, 200,000 events"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set ylabel "events/s"
set yrange [0:*]
set grid y
set key top left
set title "secure stages (batch 1024)"
plot "< grep ',1024,' ".csv." | grep '^none'" using 6:xtic(2) title "plain" lc rgb "#2c3e50", \
     "< grep ',1024,' ".csv." | grep '^paper'" using 6 title "paper (filter+reduce secure)" lc rgb "#e67e22", \
     "< grep ',1024,' ".csv." | grep '^all'" using 6 title "all stages secure" lc rgb "#27ae60", \
     300000 with lines dt 2 lc rgb "#c0392b" title "target 300k/s"
set style data linespoints
set logscale x 2
set xlabel "events per batch"
set title "paper configuration, proc enclaves"
plot "< grep '^paper,proc,' ".csv." | sort -t, -k3 -n" using 3:6 lw 2 pt 7 lc rgb "#e67e22" title "events/s", \
     300000 with lines dt 2 lc rgb "#c0392b" title "target 300k/s"
unset multiplot
