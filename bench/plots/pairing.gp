# pairing.gp -- bench_pairing's CSV: milliseconds per operation for cloister's BLS12-381 beside
# the published mcl and blst figures converted to this machine's clock, and the targets: about 4x
# mcl's cycles at 2.6 GHz for pairing, G1/G2 multiplication and GT exponentiation (portable C, no
# assembly), and a 4k MSM 8x faster than 4k separate multiplications, which IBBE member
# decryption at n = 4096 needs to stay within 250 ms (bench_pairing.c says how).
set datafile separator ","
set terminal pngcairo size 1200,650 font ",10" noenhanced
set output png
set title "BLS12-381 on this machine: cloister vs published mcl / blst (converted at the measured TSC clock)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y
set grid ytics mytics
set ylabel "ms per operation (log scale)"
set xtics rotate by -35 scale 0
set bmargin 9
set rmargin 8
set key top left
label(x) = (strcol(2) eq "1") ? strcol(1) : sprintf("%s (n=%s)", strcol(1), strcol(2))
plot csv skip 1 using 4:xtic(label(0)) title "cloister" lc rgb "#2c3e50", \
     csv skip 1 using 9 title "mcl (published)" lc rgb "#27ae60", \
     csv skip 1 using 11 title "blst (published)" lc rgb "#e67e22", \
     csv skip 1 using 6 title "target" lc rgb "#c0392b"
