# crypto.gp -- bench_crypto's CSV: cloister's crypto layer beside OpenSSL measured in the same run.
# Left: AES-256-GCM throughput (one-shot and keyed context) per message size. Right: public-key
# operations per second (HPKE has no OpenSSL 3.0 counterpart, so it stands alone).
set datafile separator ","
set terminal pngcairo size 1200,520 font ",10"
set output png
set multiplot layout 1,2 title "cloister crypto vs openssl speed (same run, same machine)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics
set key top left
set xtics rotate by -30 scale 0
label(x) = sprintf("%s %s B", strcol(1), strcol(2))

set title "AES-256-GCM seal"
set ylabel "GB/s"
set yrange [0:*]
plot csv skip 1 every ::0::5 using 3:xtic(label(0)) title "cloister" lc rgb "#2c3e50", \
     ''  skip 1 every ::0::5 using 4 title "openssl speed" lc rgb "#e67e22"

set title "public-key operations"
set ylabel "operations per second (log scale)"
set logscale y
set yrange [1000:*]
plot csv skip 1 every ::6 using 3:xtic(strcol(1)) title "cloister" lc rgb "#2c3e50", \
     ''  skip 1 every ::6 using ($4 > 0 ? $4 : 1/0) title "openssl speed" lc rgb "#e67e22"
unset multiplot
