"""Figure (i): the schedule zoo."""
import matplotlib.pyplot as plt

from .common import read_csv, save, style


def schedule_zoo(data, fig_dir):
    style()
    t = read_csv(data / "schedule_zoo.csv")
    step = t["step"]
    fig, ax = plt.subplots(2, 2, figsize=(10, 6.5), sharex=True)

    a = ax[0, 0]
    for shape in ["linear", "cosine", "1-sqrt", "exp", "inv"]:
        a.plot(step, t[f"wsd_{shape}"], label=shape)
    a.set_title("WSD decay shapes (last 20%, floor 0.1·peak)")
    a.legend(title="shape")

    a = ax[0, 1]
    a.plot(step, t["wsd_main"], color="k", lw=2, label="main branch (constant)")
    for b in [1000, 2000, 4000]:
        a.plot(step, t[f"wsd_branch_{b}"], lw=1.2, label=f"decay branch → {b}")
    a.set_title("WSD as the paper runs it: branches off a constant main run")
    a.legend()

    a = ax[1, 0]
    a.plot(step, t["wsds_cumulative"], color="#d62728", label="WSD-S, decay 10% of cumulative (lingua)")
    a.plot(step, t["wsds_cycle"], color="#ff9896", ls="--", label="WSD-S, decay 10% of each cycle (Levanter)")
    a.plot(step, t["cyclic_cosine"], color="#9467bd", label="cyclic cosine")
    a.set_title("One run, a checkpoint per budget")
    a.legend()

    a = ax[1, 1]
    for b in [1000, 2000, 4000]:
        a.plot(step, t[f"cosine_{b}"], label=f"cosine, budget {b}")
    a.set_title("Cosine: a separate run per budget")
    a.legend()
    for a in ax[1]:
        a.set_xlabel("step")
    for a in ax[:, 0]:
        a.set_ylabel("learning rate / peak")
    return [save(fig, fig_dir, "schedule_zoo.png")]


RENDERERS = {"schedule-zoo": schedule_zoo}
