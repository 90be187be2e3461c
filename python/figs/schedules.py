"""Figure (i): the schedule zoo (schedule_zoo.csv: schedule, variant, budget, step, lr)."""
import matplotlib.pyplot as plt

from .common import color, cycle, read_csv, save, shades, style, title, unique


def _curves(t, mask):
    """{(schedule, variant, budget): (step, lr)} for the rows in mask, in the order they were written."""
    out = {}
    for key in unique(zip(t["schedule"][mask], t["variant"][mask], t["budget"][mask])):
        m = mask & (t["schedule"] == key[0]) & (t["variant"] == key[1]) & (t["budget"] == key[2])
        out[key] = (t["step"][m], t["lr"][m])
    return out


def schedule_zoo(data, fig_dir):
    style()
    t = read_csv(data / "schedule_zoo.csv")
    sched, variant = t["schedule"], t["variant"]
    fig, ax = plt.subplots(2, 2, figsize=(10, 6.5), sharex=True)

    a = ax[0, 0]
    for i, ((_, v, _), (s, lr)) in enumerate(_curves(t, (sched == "wsd") & (variant != "branch")).items()):
        a.plot(s, lr, color=cycle(i), label=v)
    title(a, "WSD decay shapes (floor 0.1·peak)")
    a.legend(title="shape")

    a = ax[0, 1]
    branches = _curves(t, (sched == "wsd") & (variant == "branch"))
    for c, ((_, _, b), (s, lr)) in zip(shades("wsd", len(branches)), branches.items()):
        a.plot(s, lr, color=c, lw=1.5, label=f"decay branch → {int(b)}")
    for (_, _, b), (s, lr) in _curves(t, sched == "wsd-main").items():
        a.plot(s, lr, color=color("wsd-main"), lw=1.5, ls="--", zorder=3, label=f"main branch (constant, {int(b)} steps)")
    title(a, "WSD as the paper runs it: decay branches off a constant main run", 45)
    a.legend()

    a = ax[1, 0]
    for i, ((sc, v, _), (s, lr)) in enumerate(_curves(t, (sched == "wsds") | (sched == "cyclic-cosine")).items()):
        label = f"WSD-S, decay of the {v} budget" if sc == "wsds" else sc
        a.plot(s, lr, color=color(sc), ls="--" if (sc == "wsds" and i % 2) else "-", label=label)
    title(a, "One run, a checkpoint at every budget")
    a.legend()

    a = ax[1, 1]
    cos = _curves(t, sched == "cosine")
    for c, ((_, _, b), (s, lr)) in zip(shades("cosine", len(cos)), cos.items()):
        a.plot(s, lr, color=c, label=f"cosine, budget {int(b)}")
    title(a, "Cosine: a separate run per budget")
    a.legend()
    for a in ax[1]:
        a.set_xlabel("step")
    for a in ax[:, 0]:
        a.set_ylabel("learning rate / peak")
    return [save(fig, fig_dir, "schedule_zoo.png")]


RENDERERS = {"schedule-zoo": schedule_zoo}
