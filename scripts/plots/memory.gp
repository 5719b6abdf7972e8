# Memory: the planner's bytes by role (the same on every backend), each
# backend's peak (hatched beyond the plan: workspace) and the process's
# peak RSS, one bar group per model and mode.
# data: index 0: a row per case: label, MiB of parameters, activations,
#   gradients, optimizer state, inputs and labels (without reuse), planned
#   total with reuse; index k (series k): x, MiB planned (persistent +
#   arena), backend peak, peak RSS.
# Variables: nrows, bar_width, batch_note (which batch the rows are at).
reset
plot_w = 2 * panel_w
plot_h = 3 * panel_h
load templates.'/terminal.gp'
roles = '"parameters" "activations" "gradients" "optimizer state" "inputs and labels"'
lower(a, b) = a < b ? a : b
# The same margins in every panel, so the bars of a case line up.
set multiplot layout 3, 1 title 'Memory, '.batch_note.' (MiB = 2^20 bytes)' \
    margins 0.07, 0.80, 0.07, 0.92 spacing 0, 0.1
set xrange [-0.6:nrows - 0.4]
set yrange [0:*]
set offsets 0, 0, graph 0.06, 0
set ylabel 'MiB'
set grid ytics lc rgb grid_color
set key outside right top vertical
set xtics nomirror scale 0   # the labels name the groups; no tick marks
set ytics nomirror

set title 'Planned by role, without reuse (the same on every backend)'
set style data histogram
set style histogram rowstacked
set style fill solid 0.9 border rgb '#333333'
set boxwidth 0.6 relative
plot for [r = 1:5] data index 0 using (column(r + 1)):xtic(1) title word(roles, r) \
       lc rgb word(role_colors, r), \
     data index 0 using 0:7 with points pt 7 ps 1.4 lc rgb 'black' title 'total with reuse'

set title 'Backend peak (solid: planned; hatched: beyond the plan, workspace)'
set boxwidth bar_width * 0.9 absolute
plot for [k = 1:nseries] data index k using 1:3 with boxes fs pattern 4 border lc rgb scolor(k) \
       lc rgb scolor(k) notitle, \
     for [k = 1:nseries] data index k using 1:(lower($2, $3)) with boxes fs solid 0.9 \
       border rgb '#333333' lc rgb scolor(k) title slabel(k), \
     data index 0 using 0:(NaN):xtic(1) with points notitle

set title "Peak resident set size of the case's process"
plot for [k = 1:nseries] data index k using 1:4 with boxes fs solid 0.9 border rgb '#333333' \
       lc rgb scolor(k) title slabel(k), \
     data index 0 using 0:(NaN):xtic(1) with points notitle
unset multiplot
