# nnbench compare A B --plot DIR: the ratio of median times B/A of each case
# with its 95% confidence interval; > 1 means B is slower. The verdict
# (slower, faster) is written at the right.
# data: one index per series: row, ratio, CI low, CI high, verdict;
#   index labels_block: row, case.
# Variables: nrows, labels_block, compare_title, xmin, xmax (the CIs' span).
reset
plot_w = 1200
plot_h = 140 + 30 * nrows
load templates.'/terminal.gp'
set title compare_title
set yrange [0.4:nrows + 0.6]
set logscale x
set xrange [xmin:xmax]
set format x '%g'
set xtics ('0.1' 0.1, '0.25' 0.25, '0.5' 0.5, '0.67' 2.0 / 3, '0.8' 0.8, '0.9' 0.9, '1' 1, \
           '1.1' 1.1, '1.25' 1.25, '1.5' 1.5, '2' 2, '4' 4, '10' 10)
set xlabel 'ratio of median step times, B / A (log scale; > 1: B is slower)'
set grid xtics lc rgb grid_color
set ytics nomirror
set key outside right top vertical
set arrow 1 from 1, graph 0 to 1, graph 1 nohead dt 2 lw 1.5 lc rgb 'black'
plot for [k = 1:nseries] data index (k - 1) using 2:1:3:4 with xerrorbars pt 7 ps 1.3 lw 1.5 \
       lc rgb scolor(k) title slabel(k), \
     for [k = 1:nseries] data index (k - 1) using (xmax):1:5 with labels right offset -1, 0 notitle, \
     data index labels_block using (NaN):1:ytic(2) notitle
