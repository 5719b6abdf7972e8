# Data-parallel training over MPI ranks (bench --ranks): scaling efficiency
# against ranks, strong (the global batch fixed: T1 / (N TN)) and weak (the
# batch per rank fixed: T1 / TN); and the allreduce's share of a step.
# data: index 0 strong, index 1 weak: ranks, efficiency, allreduce share.
# Variables: max_ranks, ranks_title, ranks_backend (its colour, as in every plot).
reset
plot_w = 2 * panel_w
plot_h = panel_h + 40
load templates.'/terminal.gp'
rank_color = backend_color(ranks_backend, 0)
set multiplot layout 1, 2 title 'Data-parallel training: '.ranks_title
set xrange [0.8:max_ranks * 1.25]
set logscale x 2
set format x '%g'
set xtics 1, 2, max_ranks
set xlabel 'MPI ranks'
set grid xtics ytics lc rgb grid_color
set key bottom left
set title 'Scaling efficiency (1 = ideal)'
set ylabel 'efficiency'
set yrange [0:1.2]
plot 1 with lines dt 2 lc rgb '#777777' title 'ideal', \
     data index 0 using 1:2 with linespoints lw 2 pt 7 ps 1.2 lc rgb rank_color title 'strong', \
     data index 1 using 1:2 with linespoints lw 2 dt 3 pt 6 ps 1.2 lc rgb rank_color title 'weak'
set title "Allreduce's share of a step"
set ylabel 'share of the step time'
set yrange [0:1]
set key top left
plot data index 0 using 1:3 with linespoints lw 2 pt 7 ps 1.2 lc rgb rank_color title 'strong', \
     data index 1 using 1:3 with linespoints lw 2 dt 3 pt 6 ps 1.2 lc rgb rank_color title 'weak'
unset multiplot
