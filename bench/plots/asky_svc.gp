# asky_svc.gp -- bench_asky_svc's CSV (path,store,replicas,clients,group,requests,failed,seconds,
# req_per_s,target): envelope requests per second for a group of 100, one bar per path, store and
# number of replicas, beside the issue's target of 20,000/s.
set datafile separator ","
set terminal pngcairo size 1000,480 font ",10" noenhanced
set output png
set title "A-Sky access service: envelope requests/s (group of 100), this machine"
set style data histograms
set style fill solid 0.8 border -1
set boxwidth 0.8
set grid ytics
set logscale y
set ylabel "requests/s (log)"
set xtics rotate by -20
set key top right
plot csv using 9:xtic(sprintf("%s %s x%d", strcol(1), strcol(2), column(3))) every ::1 \
       title "requests/s", \
     20000 with lines lw 2 dt 2 title "target 20,000/s"

# The writer proxy's rows (asky_proxy.csv: path,clients,object_bytes,objects,failed,seconds,
# mb_per_s,target_mb_per_s): MB/s of 1 MiB objects, the plain HTTP baseline beside the proxy's
# upload and a member's whole put, and the target of 200 MB/s.
proxy = outdir . "/asky_proxy.csv"
if (system("test -f '" . proxy . "' && echo 1") eq "1") {
  set output outdir . "/asky_proxy.png"
  set title "A-Sky writer proxy: MB/s of 1 MiB objects over HTTP, this machine"
  unset logscale y
  set yrange [0:*]
  set ylabel "MB/s"
  plot proxy using 7:xtic(1) every ::1 title "MB/s", \
       200 with lines lw 2 dt 2 title "target 200 MB/s"
}
