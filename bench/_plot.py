"""Shared helper for the bench/ scripts' `--plot PATH.png`: a per-stage bar chart, Repro beside PyTorch.

matplotlib is a development tool here (never needed by the tests or CI); it is imported only when a
chart is asked for, with a clear message when the interpreter lacks it.
"""
import sys


def bar_chart(path, title, panels, note=None):
    """Writes a PNG with one grouped bar panel per entry of `panels`.

    panels: [(panel title, unit, [(stage label, PyTorch value, Repro value), ...]), ...]; every bar is
    labelled with its value, every Repro bar with its ratio to PyTorch's (below 1: Repro smaller).
    """
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        sys.exit("--plot needs matplotlib in the benchmark's interpreter (pip install matplotlib)")
    widths = [max(len(rows), 1) for _, _, rows in panels]
    fig, axes = plt.subplots(1, len(panels), figsize=(1.6 * sum(widths) + 1.5, 4.2),
                             gridspec_kw={"width_ratios": widths}, squeeze=False)
    for ax, (panel_title, unit, rows) in zip(axes[0], panels):
        xs = range(len(rows))
        torch_vals = [r[1] for r in rows]
        repro_vals = [r[2] for r in rows]
        b1 = ax.bar([x - 0.2 for x in xs], torch_vals, 0.4, label="PyTorch", color="#d9822b")
        b2 = ax.bar([x + 0.2 for x in xs], repro_vals, 0.4, label="Repro", color="#2b6cb0")
        fmt = "{:.0f}" if unit == "MiB" else "{:.2f}"
        ax.bar_label(b1, [fmt.format(v) for v in torch_vals], fontsize=7, padding=1)
        ax.bar_label(b2, [f"{fmt.format(r)}\n({r / t:.2f}x)" if t else fmt.format(r)
                          for t, r in zip(torch_vals, repro_vals)], fontsize=7, padding=1)
        ax.set_xticks(list(xs), [r[0] for r in rows], fontsize=8)
        ax.set_ylabel(unit)
        ax.set_title(panel_title, fontsize=9)
        ax.margins(y=0.22)
        ax.spines[["top", "right"]].set_visible(False)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=8, loc="upper right", ncols=2, frameon=False)
    fig.suptitle(title, fontsize=10)
    if note:
        fig.text(0.01, 0.01, note, fontsize=7, color="#555555")
    fig.tight_layout(rect=(0, 0.04 if note else 0, 1, 1))
    fig.savefig(path, dpi=90)
    plt.close(fig)
    print(f"wrote {path}", file=sys.stderr)
