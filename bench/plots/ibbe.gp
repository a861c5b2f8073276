# ibbe.gp -- bench_ibbe's CSV (OP,N,n,seconds,bytes,paper_seconds,paper_bytes,target_seconds)
# as the paper's Figure 3: create and remove time, and metadata, against the group size N for
# partition sizes n = 1k..4k beside the RSA and HPKE hybrid-encryption baselines (log-log), with
# the paper's IBBE-SGX n = 1k and RSA figures as points; plus member decryption against n and
# the synthetic trace against the revocation probability.
set datafile separator ","
set terminal pngcairo size 1500,950 font ",10" noenhanced
set output png
set multiplot layout 2,3 title "IBBE-SGX (BLS12-381) vs hybrid encryption, this machine; points: the paper (2018, 80-bit)"
set grid
set key top left font ",8"
set logscale xy
set format x "%.0s%c"
# rows of one op (and partition size nn, or any when nn < 0), so that lines join their points
rows(op, nn) = sprintf("< awk -F, '$1 == \"%s\" && (%d < 0 || $3 == %d)' '%s'", op, nn, nn, csv)
paper(op, nn) = sprintf("< awk -F, '$1 == \"%s\" && (%d < 0 || $3 == %d) && $6 != \"\"' '%s'", op, nn, nn, csv)

set title "create group (s)"
set xlabel "members N"
plot for [k=1:4] rows("ibbe_create", k*1000) using 2:4 with linespoints title sprintf("IBBE-SGX n=%dk", k), \
     rows("rsa_create", -1) using 2:4 with linespoints lw 2 title "HE RSA-2048", \
     rows("hpke_create", -1) using 2:4 with linespoints lw 2 title "HE X25519 HPKE", \
     paper("ibbe_create", 1000) using 2:6 with points pt 7 ps 1.2 title "paper n=1k", \
     paper("rsa_create", 0) using 2:6 with points pt 5 ps 1.2 title "paper HE"

set title "remove member (s)"
plot for [k=1:4] rows("ibbe_remove", k*1000) using 2:4 with linespoints title sprintf("IBBE-SGX n=%dk", k), \
     rows("rsa_remove", -1) using 2:4 with linespoints lw 2 title "HE RSA-2048", \
     rows("hpke_remove", -1) using 2:4 with linespoints lw 2 title "HE X25519 HPKE", \
     rows("sgx_remove", -1) using 2:4 with linespoints lw 2 dt 2 title "through the enclave n=1k", \
     paper("ibbe_remove", 1000) using 2:6 with points pt 7 ps 1.2 title "paper n=1k", \
     paper("rsa_remove", 0) using 2:6 with points pt 5 ps 1.2 title "paper HE"

set title "group metadata in the store (bytes, with member lists)"
plot for [k=1:4] rows("ibbe_create", k*1000) using 2:5 with linespoints title sprintf("IBBE-SGX n=%dk", k), \
     rows("rsa_create", -1) using 2:5 with linespoints lw 2 title "HE RSA-2048", \
     rows("hpke_create", -1) using 2:5 with linespoints lw 2 title "HE X25519 HPKE", \
     rows("ibbe_crypto_metadata", 1000) using 2:5 with linespoints dt 2 title "IBBE-SGX n=1k, crypto only", \
     rows("ibbe_crypto_metadata", 1000) using 2:7 with points pt 7 title "paper n=1k, crypto only (432 B/partition)"

set title "add member (s)"
plot for [k=1:4] rows("ibbe_add", k*1000) using 2:4 with linespoints title sprintf("IBBE-SGX n=%dk", k), \
     rows("rsa_add", -1) using 2:4 with linespoints lw 2 title "HE RSA-2048", \
     rows("hpke_add", -1) using 2:4 with linespoints lw 2 title "HE X25519 HPKE", \
     rows("sgx_add", -1) using 2:4 with linespoints lw 2 dt 2 title "through the enclave n=1k", \
     rows("ibbe_add", 1000) using 2:8 with lines dt 3 lc rgb "#c0392b" title "target 0.5 ms"

set title "member decryption of gk (s)"
set xlabel "partition size n"
unset logscale x
set format x "%g"
plot rows("ibbe_user_decrypt", -1) using 3:4 with linespoints lw 2 title "IBBE-SGX (polynomial + decrypt)", \
     rows("ibbe_user_poly", -1) using 3:4 with linespoints title "polynomial alone", \
     rows("ibbe_user_decrypt", -1) using 3:6 with points pt 7 ps 1.2 title "paper", \
     rows("ibbe_user_decrypt", -1) using 3:($8 > 0 ? $8 : 1/0) with points pt 9 ps 1.5 lc rgb "#c0392b" title "target"

set title "synthetic trace: 1,000 members + 500 operations (s)"
set xlabel "revocation probability (%)"
plot rows("trace_ibbe", -1) using 2:4 with linespoints lw 2 title "IBBE-SGX n=1k", \
     rows("trace_rsa", -1) using 2:4 with linespoints title "HE RSA-2048", \
     rows("trace_hpke", -1) using 2:4 with linespoints title "HE X25519 HPKE"
unset multiplot
