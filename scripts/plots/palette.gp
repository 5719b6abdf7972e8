# Colours: each backend keeps its colour in every plot. Edit to restyle.
color_reference = '#7f7f7f'   # grey: the oracle
color_openblas = '#1f77b4'    # blue
color_onednn = '#ff7f0e'      # orange
color_vulkan = '#2ca02c'      # green
# A backend not named above takes one of these, chosen by a hash of its name
# (the same in every plot and every run).
fallback_colors = '#d62728 #8c564b #e377c2 #bcbd22 #17becf #9467bd'
backend_color(name, hash) = exists('color_'.name) ? value('color_'.name) \
                            : word(fallback_colors, 1 + hash % words(fallback_colors))

# The memory plot's roles (not backends): one sequential scale.
role_colors = '#3f007d #6a51a3 #9e9ac8 #cbc9e2 #e7e4f0'
