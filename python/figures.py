"""Render every figure whose data the `river experiment` command has written.

    python python/figures.py --data out/quick --figures Figures [--only NAME ...]

Each experiment `NAME` writes tables into DATA/NAME/; the renderer registered for NAME in
python/figs/ reads them and writes PNGs into FIGURES/. Python only plots: every number comes from Swift.
"""
import argparse
import importlib
import pathlib
import pkgutil
import sys

import matplotlib

matplotlib.use("Agg")

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def renderers():
    """{experiment name: render(data_dir, figures_dir) -> [written paths]} from the modules in figs/."""
    import figs

    found = {}
    for mod in pkgutil.iter_modules(figs.__path__):
        m = importlib.import_module(f"figs.{mod.name}")
        for name, fn in getattr(m, "RENDERERS", {}).items():
            found[name] = fn
    return found


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, type=pathlib.Path, help="the folder given to `river experiment --out`")
    ap.add_argument("--figures", default=HERE.parent / "Figures", type=pathlib.Path, help="where PNGs go")
    ap.add_argument("--only", nargs="*", help="render only these experiments")
    args = ap.parse_args(argv)
    if not args.data.is_dir():
        ap.error(f"--data {args.data} is not a folder; run `river experiment all --out {args.data}` first")
    args.figures.mkdir(parents=True, exist_ok=True)
    table = renderers()
    wanted = args.only or sorted(table)
    unknown = [n for n in wanted if n not in table]
    if unknown:
        ap.error(f"no renderer for {', '.join(unknown)}; known: {', '.join(sorted(table))}")
    written, missing = [], []
    for name in wanted:
        d = args.data / name
        if not (d / ".done").exists():
            missing.append(name)
            continue
        try:
            paths = table[name](d, args.figures)
        except KeyError as e:
            # A column the renderer needs is not in the table: data from an older contract.
            ap.exit(1, f"{d}: no column {e} in its tables (written under another figure contract); "
                       f"recompute it with `river experiment {name} --out {args.data} --force` (add --full for full data)\n")
        for path in paths:
            written.append(path)
            print(f"  {path}")
    if missing:
        print(f"(no finished data for: {', '.join(missing)})", file=sys.stderr)
    print(f"{len(written)} figure(s) written to {args.figures}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
