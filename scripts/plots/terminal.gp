# Sets the terminal for fmt ('png' or 'svg') at plot_w x plot_h pixels and
# opens the matching output. Each template loads it once it knows its size.
if (fmt eq 'svg') {
  eval sprintf("set terminal svg size %d,%d dynamic noenhanced font '%s,%d' background rgb 'white'", \
               plot_w, plot_h, font_name, font_size)
  set output out_svg
} else {
  # pngcairo draws smoother text; libgd's png is there when cairo is not.
  png_term = strstrt(GPVAL_TERMINALS, ' pngcairo ') > 0 ? 'pngcairo' : 'png'
  eval sprintf("set terminal %s size %d,%d noenhanced font '%s,%d' background rgb 'white'", \
               png_term, plot_w, plot_h, font_name, font_size)
  set output out_png
}
