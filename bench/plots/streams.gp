# streams.gp -- bench_streams's CSV in the shape of the DEBS'17 figures, with latency: events/s
# of the flights pipeline in the embedded engine, plain ("none"), with the paper's secure filter
# and reduce ("paper") and with every stage secure ("all"), in proc and sim enclaves (top left);
# "paper" in proc enclaves against the batch size (top right); the latency CDF with the source
# paced at half of paper's peak (bottom left); p50 and p99 at that rate against the batch size
# (bottom right). Dashed: the targets (300k events/s, p99 50 ms).
set datafile separator ","
set terminal pngcairo noenhanced size 1200,900 font ",10"
set output png
set multiplot layout 2,2 title "SecureStreams: flights pipeline, embedded engine, generated flights (the CSV's events column)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set ylabel "events/s"
set yrange [0:*]
set grid y
set key below
set title "secure stages (batch 1024)"
plot "< grep '^throughput,none,.*,1024,' ".csv using 8:xtic(3) title "plain" lc rgb "#2c3e50", \
     "< grep '^throughput,paper,.*,1024,' ".csv using 8 title "paper (filter+reduce secure)" lc rgb "#e67e22", \
     "< grep '^throughput,all,.*,1024,' ".csv using 8 title "all stages secure" lc rgb "#27ae60", \
     300000 with lines dt 2 lc rgb "#c0392b" title "target 300k/s"
set style data linespoints
set key inside top left
set logscale x 2
set xlabel "events per batch"
set title "paper configuration, proc enclaves"
plot "< grep '^throughput,paper,proc,' ".csv." | sort -t, -k4 -n" using 4:8 lw 2 pt 7 lc rgb "#e67e22" title "events/s", \
     300000 with lines dt 2 lc rgb "#c0392b" title "target 300k/s"
unset logscale x
set logscale x 10
set xlabel "latency source to sink per batch (ms)"
set ylabel "fraction of batches"
set yrange [0:1.05]
set key inside bottom right
set title "latency CDF at half of the peak rate (batch 1024, linger 5 ms)"
plot "< grep '^cdf,none,' ".csv using 12:11 lw 2 pt 7 lc rgb "#2c3e50" title "plain", \
     "< grep '^cdf,paper,' ".csv using 12:11 lw 2 pt 7 lc rgb "#e67e22" title "paper (secure)"
unset logscale x
set logscale x 2
set xlabel "events per batch"
set ylabel "latency (ms)"
set yrange [0:*]
set key inside top left
set title "batch size against latency (paper, proc, half of the peak rate)"
plot "< grep '^latency,' ".csv using 4:9 lw 2 pt 7 lc rgb "#2980b9" title "p50", \
     "< grep '^latency,' ".csv using 4:10 lw 2 pt 5 lc rgb "#8e44ad" title "p99", \
     50 with lines dt 2 lc rgb "#c0392b" title "target p99 50 ms"
unset multiplot
