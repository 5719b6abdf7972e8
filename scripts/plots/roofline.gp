# Roofline: each case's achieved GFLOP/s against its arithmetic intensity,
# under the ceilings measured at the start of the run.
# data: one index per series: FLOP/byte, GFLOP/s, model number, 1 if training.
# Variables: peak_all, peak_single (GFLOP/s), bw_all, bw_single (GB/s), NaN
#   when not measured; peak_threads, peak_isa; xmin, xmax, ymin, ymax;
#   models (the model numbers' names).
reset
plot_w = 1100
plot_h = 700
load templates.'/terminal.gp'
roof(x, peak, bw) = x * bw < peak ? x * bw : peak
has_peak = peak_all > 0 && bw_all > 0
has_single = peak_single > 0 && bw_single > 0
# A shape per model: circle, square, triangle, diamond, inverted triangle,
# pentagon; open for inference, filled for training.
shape(m, train) = int(word('6 4 8 12 10 14', 1 + (int(m) - 1) % 6)) + (train > 0)
set logscale xy
set xrange [xmin:xmax]
set yrange [ymin:ymax]
set format x '%g'
set format y '%g'
set samples 500
set xlabel 'arithmetic intensity (FLOP/byte)'
set ylabel 'achieved GFLOP/s'
set grid xtics ytics mxtics mytics lc rgb grid_color
set key outside right top vertical Left reverse samplen 2
set title 'Roofline: achieved GFLOP/s (median) against arithmetic intensity'
plot (has_peak ? roof(x, peak_all, bw_all) : 1/0) lw 2 lc rgb 'black' \
       title (has_peak ? sprintf('%d threads: %.0f GFLOP/s, %.0f GB/s', peak_threads, peak_all, bw_all) \
                       : 'ceilings not measured'), \
     (has_single ? roof(x, peak_single, bw_single) : 1/0) lw 2 dt 2 lc rgb 'black' \
       title (has_single ? sprintf('1 thread: %.0f GFLOP/s, %.0f GB/s', peak_single, bw_single) : ''), \
     for [k = 1:nseries] data index (k - 1) using 1:2:(shape($3, $4)) with points pt variable \
       ps 1.8 lw 1.5 lc rgb scolor(k) notitle, \
     for [k = 1:nseries] 1/0 with points pt 7 ps 1.8 lc rgb scolor(k) title slabel(k), \
     for [m = 1:words(models)] 1/0 with points pt shape(m, 0) ps 1.5 lc rgb 'black' \
       title word(models, m), \
     1/0 with points pt 6 ps 1.5 lc rgb 'black' title 'open: inference', \
     1/0 with points pt 7 ps 1.5 lc rgb 'black' title 'filled: training'
