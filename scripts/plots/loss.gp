# Training loss: the loss of each timed step, one panel per model, one line
# per series.
# data: one index per (panel, series): step, loss.
# Variables: npanels, panel_title_N, panel_first_N, panel_series_N,
#   panel_steps_N (its longest curve).
reset
plot_w = panel_w * grid_cols(npanels)
plot_h = panel_h * grid_rows(npanels) + 40
load templates.'/terminal.gp'
set multiplot layout grid_rows(npanels), grid_cols(npanels) \
    title 'Training loss of each timed step'
set xlabel 'timed training step'
set ylabel 'loss (cross-entropy)'
set grid xtics ytics lc rgb grid_color
set key top right
do for [p = 1:npanels] {
  ps = value(sprintf('panel_series_%d', p))
  first = value(sprintf('panel_first_%d', p))
  set title value(sprintf('panel_title_%d', p))
  if (value(sprintf('panel_steps_%d', p)) <= 10) { set xtics 1 } else { set xtics autofreq }
  # Backends that agree draw the same curve: the earlier ones are drawn wider,
  # so each stays visible under the next.
  plot for [k = 1:words(ps)] data index (first + k - 1) using 1:2 with lines \
       lw 1.5 + 2.5 * (words(ps) - k) \
       lc rgb scolor(int(word(ps, k))) title slabel(int(word(ps, k)))
}
unset multiplot
