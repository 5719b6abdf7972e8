# Batch-size scaling: samples/s against batch size on log axes, one panel
# per model and mode, one line per series.
# data: one index per (panel, series): batch, samples/s, CI low, CI high.
# Variables: npanels, panel_title_N, panel_first_N (index of the panel's
#   first block), panel_series_N (the series of its blocks, in order).
reset
plot_w = panel_w * grid_cols(npanels)
plot_h = panel_h * grid_rows(npanels) + 40
load templates.'/terminal.gp'
set multiplot layout grid_rows(npanels), grid_cols(npanels) \
    title 'Batch-size scaling: median samples/s with 95% confidence interval'
set logscale x 2
set logscale y 10
set format x '%g'
set format y '%.0s%c'   # 1k, 10k, 1M
set offsets graph 0.06, graph 0.06, graph 0.06, graph 0.06
set xlabel 'batch size (samples)'
set ylabel 'samples/s'
set grid xtics ytics lc rgb grid_color
set key top left
do for [p = 1:npanels] {
  ps = value(sprintf('panel_series_%d', p))
  first = value(sprintf('panel_first_%d', p))
  set title value(sprintf('panel_title_%d', p))
  plot for [k = 1:words(ps)] data index (first + k - 1) using 1:2:3:4 with yerrorlines \
       lw 2 pt 7 ps 1 lc rgb scolor(int(word(ps, k))) title slabel(int(word(ps, k)))
}
unset multiplot
