"""The scaling plot: messages/s and peak RSS against subscribers and workers.

    python bench/plot.py bench/results.jsonl docs/scaling.png

Reads the JSON lines that `bench/throughput.py --save FILE` appends (one per setting, medians
of its runs) and draws two panels: messages/s and the sending process's peak RSS against the
number of subscribers (log scale), one line per worker count and latency. Needs matplotlib
(`pip install matplotlib`, not a dependency of newsletter).
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path


def main() -> None:
    source, target = Path(sys.argv[1]), Path(sys.argv[2])
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    latest: dict[tuple[str, int, float, int], dict[str, float]] = {}
    for line in source.read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        key = (r["database"], r["workers"], r["latency_ms"], r["subscribers"])
        latest[key] = r["median"]  # the last measurement of a setting wins
    lines: dict[tuple[str, int, float], list[tuple[int, dict[str, float]]]] = defaultdict(list)
    for (database, workers, latency, subscribers), median in sorted(latest.items()):
        lines[(database, workers, latency)].append((subscribers, median))
    fig, (rate_ax, rss_ax) = plt.subplots(1, 2, figsize=(11, 4.2))
    for (database, workers, latency), points in sorted(lines.items()):
        label = f"{database}, {workers} worker{'s' if workers > 1 else ''}, {latency:g} ms"
        xs = [n for n, _ in points]
        rate_ax.plot(xs, [m["engine_rate"] for _, m in points], marker="o", label=label)
        rss_ax.plot(xs, [m["peak_mb"] for _, m in points], marker="o", label=label)
    rate_ax.set(xscale="log", xlabel="subscribers", ylabel="messages/s", title="Send rate")
    rss_ax.set(xscale="log", xlabel="subscribers", ylabel="MB", title="Peak RSS per sender")
    rss_ax.axhline(150, color="grey", linestyle="--", linewidth=1)
    rss_ax.annotate("150 MB goal", (0.02, 152), xycoords=("axes fraction", "data"))
    rss_ax.set_ylim(bottom=0)
    rate_ax.set_ylim(bottom=0)
    for ax in (rate_ax, rss_ax):
        ax.grid(True, which="both", alpha=0.3)
    rate_ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(target, dpi=110)
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
