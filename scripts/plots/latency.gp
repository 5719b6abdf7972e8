# Latency distribution at batch 1: the cumulative distribution of every
# timed iteration, one panel per model, one line per series.
# data: one index per (panel, series): latency in ms (sorted), fraction of
#   iterations at or under it.
# Variables: npanels, panel_title_N, panel_first_N, panel_series_N,
#   panel_logx_N (1: log axis).
reset
plot_w = panel_w * grid_cols(npanels)
plot_h = panel_h * grid_rows(npanels) + 40
load templates.'/terminal.gp'
set multiplot layout grid_rows(npanels), grid_cols(npanels) \
    title 'Latency at batch 1: cumulative distribution of the timed iterations'
set yrange [0:1.02]
set ytics 0, 0.25, 1
set format x '%g'
set ylabel 'fraction of iterations'
set grid xtics ytics lc rgb grid_color
set key bottom right
set arrow 1 from graph 0, first 0.5 to graph 1, first 0.5 nohead dt 3 lc rgb '#808080'
set arrow 2 from graph 0, first 0.99 to graph 1, first 0.99 nohead dt 3 lc rgb '#808080'
set label 1 'median' at graph 1.01, first 0.5 left font ','.(font_size - 2)
set label 2 'p99' at graph 1.01, first 0.99 left font ','.(font_size - 2)
set rmargin 8
do for [p = 1:npanels] {
  ps = value(sprintf('panel_series_%d', p))
  first = value(sprintf('panel_first_%d', p))
  set title value(sprintf('panel_title_%d', p))
  if (value(sprintf('panel_logx_%d', p))) {
    set logscale x
    set xlabel 'latency (ms, log scale)'
  } else {
    unset logscale x
    set xlabel 'latency (ms)'
  }
  plot for [k = 1:words(ps)] data index (first + k - 1) using 1:2 with steps lw 2 \
       lc rgb scolor(int(word(ps, k))) title slabel(int(word(ps, k)))
}
unset multiplot
