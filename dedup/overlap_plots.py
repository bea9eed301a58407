"""Plots of an overlap report, as PNG and SVG files with their method sentence as caption.

Three figures: the UpSet plot of shops per exact combination of platforms
(``upsetplot``), the Jaccard heatmap of shops between platforms, and bars of
exclusive and shared shops per platform. Figures are drawn on matplotlib's Agg
canvas without pyplot: nothing opens a window and no figure outlives its call.
``plot_bytes`` serves a web page from memory. Labels are French, like the analyst
pages.
"""

from __future__ import annotations

import io
import textwrap
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import upsetplot
from matplotlib import rc_context
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from dedup.overlap import OverlapReport

TITLES = {
    "upset_shops": "Boutiques par combinaison de plateformes",
    "jaccard_shops": "Recouvrement des boutiques entre plateformes (Jaccard)",
    "exclusive_shops": "Boutiques exclusives et partagées par plateforme",
}
FORMATS = ("png", "svg")


PLOTS = tuple(TITLES)


def write_plots(report: OverlapReport, out_dir: str | Path) -> list[Path]:
    """Write upset_shops, jaccard_shops and exclusive_shops as PNG and SVG into out_dir.

    Empty data or a single platform give a readable figure saying so, never an error.

    Returns:
        The paths written.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name in PLOTS:
        fig = figure(report, name)
        for fmt in FORMATS:
            path = out / f"{name}.{fmt}"
            _save(fig, path, fmt)
            written.append(path)
    return written


def plot_bytes(report: OverlapReport, name: str, fmt: str = "svg") -> bytes:
    """One plot as PNG or SVG bytes, for a web page to serve without touching the disk."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown plot format {fmt!r} (expected png or svg)")
    buffer = io.BytesIO()
    _save(figure(report, name), buffer, fmt)
    return buffer.getvalue()


def figure(report: OverlapReport, name: str) -> Figure:
    """The figure of one plot (a name of ``PLOTS``), title and caption included."""
    if name not in TITLES:
        raise ValueError(f"unknown plot {name!r} (expected one of {', '.join(PLOTS)})")
    # A drawer returns the key of the method sentence to use when not the plot's own.
    drawers: dict[str, Callable[[Figure, OverlapReport], str | None]] = {
        "upset_shops": _upset, "jaccard_shops": _jaccard, "exclusive_shops": _exclusive,
    }
    fig = Figure(figsize=(10, 6))
    FigureCanvasAgg(fig)
    method = drawers[name](fig, report) or name
    fig.suptitle(TITLES[name], fontsize=13, fontweight="bold")
    _caption(fig, report.methods.get(method, ""))
    return fig


def _save(fig: Figure, target: Path | io.BytesIO, fmt: str) -> None:
    title = fig.get_suptitle()
    # SVG text stays text, so analysts can copy the caption they quote; no creation date,
    # so the same report gives the same SVG.
    metadata = {"Title": title, "Date": None} if fmt == "svg" else {"Title": title}
    with rc_context({"svg.fonttype": "none", "svg.hashsalt": "agora-overlap"}):
        fig.savefig(target, format=fmt, dpi=120, bbox_inches="tight", metadata=metadata)


def _caption(fig: Figure, text: str) -> None:
    """The method sentence under everything drawn (tick labels included)."""
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    bottom = fig.get_tightbbox(renderer).y0 / fig.get_figheight()
    # bbox_inches="tight" at save time grows the image to include the caption.
    fig.text(0.5, bottom - 0.02, textwrap.fill(text, 130), ha="center", va="top", fontsize=8,
             color="#333333")


def _empty(fig: Figure, message: str) -> None:
    ax = fig.add_subplot()
    ax.set_axis_off()
    ax.text(0.5, 0.5, message, ha="center", va="center", fontsize=12, color="#555555")


def _fr(value: float, digits: int = 2) -> str:
    return f"{value:.{digits}f}".replace(".", ",")


# --------------------------------------------------------------------------- UpSet
class _FilledDots:
    """Axes proxy for upsetplot 0.9's matrix under pandas 3.

    upsetplot fills missing dot styles with chained ``fillna(inplace=True)``, a
    no-op under pandas 3's copy-on-write, and matplotlib then rejects NaN colours.
    This fills them as upsetplot meant to before the call reaches the axes.
    """

    def __init__(self, ax: Any) -> None:
        self._ax = ax

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ax, name)

    def scatter(self, *args: Any, **kwargs: Any) -> Any:
        face = kwargs.get("facecolors")
        if isinstance(face, pd.Series):
            face = face.where(face.notna(), "black")
            kwargs["facecolors"] = face.tolist()
            for key, default in (("edgecolors", face), ("linewidths", 1.0),
                                 ("linestyles", "solid")):
                value = kwargs.get(key)
                if isinstance(value, pd.Series):
                    kwargs[key] = value.where(value.notna(), default).tolist()
        return self._ax.scatter(*args, **kwargs)


def _upset_class() -> type:
    class UpSet(upsetplot.UpSet):
        def plot_matrix(self, ax: Any) -> Any:
            return super().plot_matrix(_FilledDots(ax))

    return UpSet


def _upset(fig: Figure, report: OverlapReport) -> str | None:
    counts = {k: n for k, n in report.intersections_shops.items() if n > 0 and k}
    used = [p for p in report.platform_keys if any(p in k for k in counts)]
    if not counts:
        _empty(fig, "Aucune boutique pour ces critères.")
        return None
    if len(used) == 1:
        # An UpSet plot of one set is one bar; upsetplot cannot draw it.
        ax = fig.add_subplot()
        total = sum(counts.values())
        ax.bar([used[0]], [total], color="#1f4e79")
        ax.text(0, total, str(total), ha="center", va="bottom")
        ax.set_ylabel("Boutiques")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title("Une seule plateforme : aucun recouvrement possible", fontsize=10)
        return "platforms"
    index = pd.MultiIndex.from_tuples([tuple(p in k for p in used) for k in counts],
                                      names=used)
    series = pd.Series(list(counts.values()), index=index, name="boutiques")
    with warnings.catch_warnings():
        # upsetplot 0.9 uses pandas APIs that pandas 3 deprecates; not ours to fix.
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        chained = getattr(pd.errors, "ChainedAssignmentError", None)
        if chained is not None:
            warnings.simplefilter("ignore", chained)
        axes = _upset_class()(series, sort_by="cardinality", sort_categories_by="-input",
                              facecolor="#1f4e79").plot(fig=fig)
    # Counts are labelled here: upsetplot's show_counts places text at 1-element arrays,
    # which matplotlib >= 3.11 rejects.
    for name, label in (("intersections", "Boutiques (combinaison exacte)"),
                        ("totals", "Boutiques par plateforme")):
        ax = axes.get(name)
        if ax is None:
            continue
        for container in ax.containers:
            ax.bar_label(container, padding=2, fontsize=8)
        if name == "intersections":
            ax.set_ylabel(label)
        else:
            ax.set_xlabel(label)
    return None


# --------------------------------------------------------------------------- heatmap
def _jaccard(fig: Figure, report: OverlapReport) -> str | None:
    keys = list(report.platform_keys)
    if not keys or report.total_shops == 0:
        _empty(fig, "Aucune boutique pour ces critères.")
        return None
    n = len(keys)
    rank = {p: i for i, p in enumerate(keys)}
    values = np.zeros((n, n))
    both = np.zeros((n, n), dtype=int)
    for row in report.platforms:
        i = rank[row.platform]
        values[i, i] = 1.0 if row.shops else 0.0
        both[i, i] = row.shops
    for pair in report.pairs_shops:
        i, j = rank[pair.platform_a], rank[pair.platform_b]
        values[i, j] = values[j, i] = pair.jaccard
        both[i, j] = both[j, i] = pair.both
    ax = fig.add_subplot()
    image = ax.imshow(values, cmap="Blues", vmin=0.0, vmax=1.0)
    ax.set_xticks(range(n), keys, rotation=30, ha="right")
    ax.set_yticks(range(n), keys)
    for i in range(n):
        for j in range(n):
            ax.text(j, i, f"{_fr(values[i, j])}\n({both[i, j]})", ha="center", va="center",
                    fontsize=9, color="white" if values[i, j] > 0.55 else "black")
    fig.colorbar(image, ax=ax, label="Indice de Jaccard")
    return None


# --------------------------------------------------------------------------- bars
def _exclusive(fig: Figure, report: OverlapReport) -> str | None:
    rows = report.platforms
    if not rows or report.total_shops == 0:
        _empty(fig, "Aucune boutique pour ces critères.")
        return None
    ax = fig.add_subplot()
    names = [r.platform for r in rows]
    exclusive = [r.exclusive_shops for r in rows]
    shared = [r.shared_shops for r in rows]
    ax.bar(names, exclusive, color="#c0504d", label="Exclusives (sur cette seule plateforme)")
    ax.bar(names, shared, bottom=exclusive, color="#9bbbd9",
           label="Partagées (aussi sur une autre plateforme)")
    for x, r in enumerate(rows):
        if r.exclusive_shops:
            ax.text(x, r.exclusive_shops / 2, str(r.exclusive_shops), ha="center",
                    va="center", color="white", fontsize=9)
        ax.text(x, r.shops, f"{r.shops} ({_fr(100 * (1 - r.share_shared), 0)} % excl.)"
                if r.shops else "0", ha="center", va="bottom", fontsize=9)
    ax.set_ylabel("Boutiques")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.tick_params(axis="x", labelrotation=20)
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=2, frameon=False,
              fontsize=9)
    ax.margins(y=0.12)
    return None
