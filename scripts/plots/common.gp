# Loaded by every plot's driver (plots/data/NAME.gp) before the plot's own
# template: what all plots share. The driver has set templates, data,
# out_png, out_svg, series_backend, series_label, series_hash and the plot's
# own variables (listed at the top of each template).

font_name = 'Sans'
font_size = 13
panel_w = 620   # pixels per panel
panel_h = 440
grid_color = '#a8a8a8'

load templates.'/palette.gp'

# One colour per series, from its backend's name, so a backend looks the
# same in every plot.
series_colors = ''
do for [i = 1:words(series_backend)] {
  series_colors = series_colors.' '.backend_color(word(series_backend, i), int(word(series_hash, i)))
}
nseries = words(series_backend)
scolor(i) = word(series_colors, i)
slabel(i) = word(series_label, i)

# Panels in a grid: up to 2 columns for 4 panels, 3 for 9, then 4.
grid_cols(n) = n <= 2 ? n : (n <= 4 ? 2 : (n <= 9 ? 3 : 4))
grid_rows(n) = int((n + grid_cols(n) - 1) / grid_cols(n))
