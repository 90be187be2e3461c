"""One module per group of figures; each defines RENDERERS = {experiment name: render(data_dir, fig_dir)}."""
