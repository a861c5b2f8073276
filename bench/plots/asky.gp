# asky.gp -- bench_asky's CSV (OP,N,seconds,bytes,members_per_s,target_seconds): envelope build
# and open time against the group size N, A-Sky indexed and trial (from prepared members and,
# for the before/after, from raw keys through OpenSSL's one-shot calls) beside the age-style HPKE
# baseline of the same run (log-log), and the put throughput through the enclave.
set datafile separator ","
set terminal pngcairo size 1500,480 font ",10" noenhanced
set output png
set multiplot layout 1,3 title "A-Sky envelopes vs one X25519 HPKE stanza per member, this machine, one core"
set grid
set key top left font ",8"
rows(op) = sprintf("< awk -F, '$1 == \"%s\"' '%s'", op, csv)
set logscale xy
set format x "%.0s%c"
set xlabel "members N"
set ylabel "seconds"
set title "build an envelope"
plot rows("indexed_build") using 2:3 with linespoints title "A-Sky indexed (prepared members)", \
     rows("trial_build") using 2:3 with linespoints title "A-Sky trial (prepared members)", \
     rows("indexed_build_oneshot") using 2:3 with linespoints dt 2 title "A-Sky indexed (OpenSSL one-shots)", \
     rows("hpke_build") using 2:3 with linespoints lw 2 title "HPKE baseline"
set title "open (a member, average position)"
plot rows("indexed_open") using 2:3 with linespoints title "A-Sky indexed", \
     rows("trial_open") using 2:3 with linespoints title "A-Sky trial", \
     rows("hpke_open") using 2:3 with linespoints lw 2 title "HPKE baseline"
set title "put through the enclave (MB/s)"
set xlabel "object bytes"
set ylabel "MB/s"
unset logscale y
plot rows("put") using 2:5 with linespoints title "put (envelope + encrypt + fsync)"
unset multiplot
