# Throughput per model and backend: grouped bars of samples/s, one panel per
# mode, error bars from the 95% confidence interval of the median.
# data: one index per panel; a row per model: its label, then for each
#   series: samples/s, CI low, CI high (NaN when not measured).
# Variables: npanels, panel_title_N, panel_logy_N (1: log axis).
reset
plot_w = panel_w * npanels + 80
plot_h = panel_h + 100
load templates.'/terminal.gp'
set multiplot layout 1, npanels title 'Throughput: median samples/s with 95% confidence interval' \
    margins 0.1, 0.98, 0.2, 0.86 spacing 0.11, 0
set style data histogram
set style histogram errorbars gap 1.5 lw 1.2
set style fill solid 0.9 border rgb '#333333'
set grid ytics lc rgb grid_color
# One legend for both panels, at the bottom.
set key at screen 0.5, screen 0.02 center bottom horizontal
set xtics nomirror scale 0   # the labels name the groups; no tick marks
set ytics nomirror
do for [p = 1:npanels] {
  set title value(sprintf('panel_title_%d', p))
  if (value(sprintf('panel_logy_%d', p))) {
    set logscale y
    set yrange [*:*]
    set ylabel 'samples/s (log scale)'
    set format y '%.0s%c'   # 1k, 10k, 1M
  } else {
    unset logscale y
    set yrange [0:*]
    set ylabel 'samples/s'
    set format y '%g'
  }
  if (p > 1) { unset key }
  plot for [i = 1:nseries] data index (p - 1) \
       using (column(3 * i - 1)):(column(3 * i)):(column(3 * i + 1)):xtic(1) \
       title slabel(i) lc rgb scolor(i)
}
unset multiplot
