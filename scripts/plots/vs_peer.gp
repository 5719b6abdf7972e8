# Speed relative to a peer (PyTorch): grouped bars, one group per model, one
# panel per mode and batch; 1 (the dashed line) is the peer at its best
# thread count; error bars from the ratio's 95% confidence interval.
# data: one index per panel; a row per model: its label, then for each
#   series: ratio, CI low, CI high (NaN when not measured).
# Variables: npanels, panel_title_N, panel_logy_N (1: log axis), peer_name.
reset
plot_w = panel_w * npanels + 80
plot_h = panel_h + 180   # room for a legend of several rows
load templates.'/terminal.gp'
set multiplot layout 1, npanels title sprintf('Speed relative to %s at its best thread count (above 1: faster)', peer_name) \
    margins 0.1, 0.98, 0.32, 0.88 spacing 0.08, 0
set style data histogram
set style histogram errorbars gap 1.5 lw 1.2
set style fill solid 0.9 border rgb '#333333'
set grid ytics lc rgb grid_color
set key at screen 0.5, screen 0.02 center bottom horizontal
set xtics nomirror scale 0
set ytics nomirror
do for [p = 1:npanels] {
  set title value(sprintf('panel_title_%d', p))
  if (value(sprintf('panel_logy_%d', p))) {
    set logscale y
    set yrange [*:*]
    set ylabel sprintf('x %s (log scale)', peer_name)
  } else {
    unset logscale y
    set yrange [0:*]
    set ylabel sprintf('x %s', peer_name)
  }
  set format y '%g'
  if (p > 1) { unset key }
  set arrow 1 from graph 0, first 1 to graph 1, first 1 nohead dt 2 lw 1.5 lc rgb '#333333' front
  plot for [i = 1:nseries] data index (p - 1) \
       using (column(3 * i - 1)):(column(3 * i)):(column(3 * i + 1)):xtic(1) \
       title slabel(i) lc rgb scolor(i)
}
unset multiplot
