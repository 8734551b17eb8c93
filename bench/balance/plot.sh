#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# plot.sh DIR NODES: the balancing experiment's plots (gnuplot, PNG) from
# what run.sh left in DIR: per run, the load of each node over time with
# the moves; per workload, the makespan of each policy; the moves of
# every run over time.
set -eu -o pipefail
dir=$1
nodes=$2
cd "$dir"
for load in *.load.csv; do
	run=${load%.load.csv}
	plots=""
	for n in $(seq "$nodes"); do
		awk -F, -v n="$n" '$2 == n { print $1 "," $3 }' "$load" > "$run.node$n.dat"
		plots="$plots${plots:+, }'$run.node$n.dat' using 1:2 with linespoints lw 2 pt 7 ps 0.5 title 'node $n'"
	done
	gnuplot <<GP
set terminal png size 900,500
set output '$run.load.png'
set datafile separator ','
set title 'runnable tasks per node: $run'
set xlabel 'seconds since the first job'
set ylabel 'runnable tasks'
set grid
set key top right
plot $plots
GP
	rm -f "$run".node*.dat
done
for wl in $(tail -n +2 results.csv | cut -d, -f1 | sort -u); do
	grep "^$wl," results.csv | cut -d, -f2,3 > "$wl.makespan.dat"
	gnuplot <<GP
set terminal png size 600,400
set output '$wl.makespan.png'
set datafile separator ','
set title 'makespan per policy: $wl'
set ylabel 'seconds'
set style fill solid 0.6
set boxwidth 0.6
set yrange [0:*]
set grid ytics
plot '$wl.makespan.dat' using 0:2:xtic(1) with boxes notitle
GP
	rm -f "$wl.makespan.dat"
done
# moves over time: the cumulated count, per run
plots=""
for m in *.moves.csv; do
	run=${m%.moves.csv}
	[ -s "$m" ] || continue
	sort -t, -k1,1n "$m" | awk -F, 'NR == 1 { t0 = $1 } { print ($1 - t0) / 1000 "," NR }' > "$run.moves.dat"
	plots="$plots${plots:+, }'$run.moves.dat' using 1:2 with steps lw 2 title '$run'"
done
if [ -n "$plots" ]; then
	gnuplot <<GP
set terminal png size 900,500
set output 'moves.png'
set datafile separator ','
set title 'moves over time (from the first move of each run)'
set xlabel 'seconds'
set ylabel 'moves made'
set grid
set key top left
plot $plots
GP
fi
rm -f ./*.moves.dat
