# streams_nats.gp -- bench_streams_nats's CSV: the flights pipeline's throughput (events/s) in the
# embedded engine and over NATS JetStream with 1, 2 and 4 replicas per segment (stage processes
# in simulated enclaves), measured in the same run. Dashed: the 150k events/s target over NATS;
# dotted: the original's 72k rows/s in cleartext on 16 cores (DEBS 2017).
set datafile separator ","
set terminal pngcairo noenhanced size 900,520 font ",10"
set output png
set title "SecureStreams flights pipeline, 200,000 events: embedded and over NATS JetStream"
set style data histograms
set style fill solid 0.8 border -1
set boxwidth 0.7
set ylabel "events/s"
set yrange [0:*]
set grid ytics
set key top right
plot csv every ::1 using 8:xtic(1) lc rgb "#2c3e50" title "events/s (median of 3)", \
     150000 with lines dt 2 lc rgb "#c0392b" title "target over NATS 150k/s", \
     72000 with lines dt 3 lc rgb "#7f8c8d" title "original, cleartext, 16 cores"
