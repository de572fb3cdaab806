"""Fraction-of-memory-roofline charts: Tessera beside PyTorch eager and torch.compile.

    python3 bench/plot_roofline.py --peer torch.json [--peer torch_ext.json] \
        --tessera tessera.json --out bench/plots/

Pure standard library (the SVG is written by hand). One SVG per op, `<out>/<op>.svg`, with the
fraction of the roofline (floor_us / time, higher is better, 1.0 = copy-bandwidth limit) on the
y axis against T on a log x axis; one line per (implementation, H).

Inputs
  Peer JSON (bench/torch_mhc_ext.py and ../shared/peer/torch_mhc.py --json):
    {"device": str, "copy_bw": bytes_per_s,
     "rows": [{"op", "H", "T", "eager_us", "compiled_us", "eager_graph_us",
               "compiled_graph_us", "bytes", "floor_us", ...}]}
  Tessera JSON (written by Tessera's benchmark):
    {"device": str, "copy_bw": bytes_per_s,
     "rows": [{"op": str, "H": int, "T": int,
               "us": float,        # median time per call, launch included
               "graph_us": float,  # median per call under CUDA-graph replay (optional)
               "bytes": int,       # minimal bytes the op must move
               "floor_us": float,  # bytes / copy_bw · 1e6
               ...}]}              # extra keys are ignored
The graph-replay times are plotted when present (kernel time without Python/launch overhead),
else the plain times; pass --no-graph to always plot the plain ones. Files whose "device"
differ are reported on stderr: only compare numbers taken on the same card.
"""
import argparse
import json
import math
import os
import sys
from xml.sax.saxutils import escape

COLORS = {"tessera": "#d62728", "torch eager": "#1f77b4", "torch compiled": "#2ca02c",
          "TileLang": "#9467bd"}
DASHES = ["", "6,4", "2,3", "8,3,2,3"]


def load(path):
    with open(path) as f:
        data = json.load(f)
    if not isinstance(data, dict) or "rows" not in data:
        raise SystemExit(f"{path}: expected an object with 'rows'")
    return data


def series_from(peer_files, tessera_files, use_graph):
    """{op: {(impl, H): [(T, fraction)]}} from the loaded files."""
    out = {}

    def add(op, impl, H, T, floor_us, us):
        if us is None or us <= 0 or floor_us is None:
            return
        out.setdefault(op, {}).setdefault((impl, int(H)), []).append((int(T), floor_us / us))

    for data in peer_files:
        for r in data["rows"]:
            e = r.get("eager_graph_us") if use_graph else None
            c = r.get("compiled_graph_us") if use_graph else None
            add(r["op"], "torch eager", r["H"], r["T"], r.get("floor_us"), e or r.get("eager_us"))
            add(r["op"], "torch compiled", r["H"], r["T"], r.get("floor_us"),
                c or r.get("compiled_us"))
    for data in tessera_files:
        # TileLang's figures (issue 9's table, bench/mhc_goals.h) were measured on an H200: they
        # are charted only beside an H200 run, whose copy floor they share.
        on_h200 = "H200" in str(data.get("device", ""))
        for r in data["rows"]:
            g = r.get("graph_us") if use_graph else None
            add(r["op"], "tessera", r["H"], r["T"], r.get("floor_us"), g or r.get("us"))
            if on_h200 and use_graph:
                add(r["op"], "TileLang", r["H"], r["T"], r.get("floor_us"),
                    r.get("tilelang_h200_us"))
    for op in out.values():
        for pts in op.values():
            pts.sort()
    return out


def svg_chart(op, series, subtitle, width=760, height=460):
    left, right, top, bottom = 70, 200, 50, 60
    pw, ph = width - left - right, height - top - bottom
    ts = sorted({t for pts in series.values() for t, _ in pts})
    fracs = [f for pts in series.values() for _, f in pts]
    ymax = max(1.0, math.ceil(max(fracs + [0.0]) * 5) / 5)
    lo, hi = math.log10(min(ts)), math.log10(max(ts))
    if hi - lo < 1e-9:
        lo, hi = lo - 0.5, hi + 0.5

    def x(t):
        return left + (math.log10(t) - lo) / (hi - lo) * pw

    def y(f):
        return top + ph - f / ymax * ph

    s = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
         f'font-family="sans-serif" font-size="12">',
         f'<rect width="{width}" height="{height}" fill="white"/>',
         f'<text x="{left}" y="22" font-size="16" font-weight="bold">{escape(op)}: fraction of '
         f'the memory roofline</text>',
         f'<text x="{left}" y="40" fill="#555">{escape(subtitle)}</text>']
    # y grid and labels
    steps = int(round(ymax / 0.2))
    for i in range(steps + 1):
        f = i * 0.2
        s.append(f'<line x1="{left}" y1="{y(f):.1f}" x2="{left + pw}" y2="{y(f):.1f}" '
                 f'stroke="{"#999" if abs(f - 1) < 1e-9 else "#e5e5e5"}"/>')
        s.append(f'<text x="{left - 8}" y="{y(f) + 4:.1f}" text-anchor="end">{f:.1f}</text>')
    # x ticks at the measured T values
    for t in ts:
        s.append(f'<line x1="{x(t):.1f}" y1="{top + ph}" x2="{x(t):.1f}" y2="{top + ph + 5}" '
                 f'stroke="#333"/>')
        s.append(f'<text x="{x(t):.1f}" y="{top + ph + 18}" text-anchor="middle">{t}</text>')
    s.append(f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#333"/>')
    s.append(f'<text x="{left + pw / 2}" y="{height - 15}" text-anchor="middle">tokens T '
             f'(log scale)</text>')
    s.append(f'<text x="18" y="{top + ph / 2}" text-anchor="middle" '
             f'transform="rotate(-90 18 {top + ph / 2})">floor_us / time</text>')
    hs = sorted({h for _, h in series})
    order = ["tessera", "TileLang", "torch compiled", "torch eager"]
    legend_y = top + 10
    for impl in order:
        for h in hs:
            pts = series.get((impl, h))
            if not pts:
                continue
            color = COLORS.get(impl, "#000")
            dash = DASHES[hs.index(h) % len(DASHES)]
            dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
            path = " ".join(f"{x(t):.1f},{y(f):.1f}" for t, f in pts)
            s.append(f'<polyline points="{path}" fill="none" stroke="{color}" '
                     f'stroke-width="2"{dash_attr}/>')
            for t, f in pts:
                s.append(f'<circle cx="{x(t):.1f}" cy="{y(f):.1f}" r="3" fill="{color}">'
                         f'<title>{escape(impl)} H={h} T={t}: {f:.3f}</title></circle>')
            lx = left + pw + 15
            s.append(f'<line x1="{lx}" y1="{legend_y}" x2="{lx + 30}" y2="{legend_y}" '
                     f'stroke="{color}" stroke-width="2"{dash_attr}/>')
            label = f"{impl}" + (f", H={h}" if h else "")
            s.append(f'<text x="{lx + 36}" y="{legend_y + 4}">{escape(label)}</text>')
            legend_y += 18
    s.append("</svg>")
    return "\n".join(s) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description="fraction-of-roofline SVG charts")
    ap.add_argument("--peer", action="append", default=[], help="peer JSON (repeatable)")
    ap.add_argument("--tessera", action="append", default=[], help="Tessera JSON (repeatable)")
    ap.add_argument("--out", default="bench/plots", help="output folder")
    ap.add_argument("--no-graph", action="store_true", help="plot plain (non-graph) times")
    args = ap.parse_args(argv)
    if not args.peer and not args.tessera:
        ap.error("give at least one --peer or --tessera file")
    peers = [load(p) for p in args.peer]
    tess = [load(p) for p in args.tessera]
    devices = sorted({d.get("device", "?") for d in peers + tess})
    if len(devices) > 1:
        print(f"warning: results from different devices: {devices}", file=sys.stderr)
    series = series_from(peers, tess, not args.no_graph)
    os.makedirs(args.out, exist_ok=True)
    timing = "CUDA-graph replay" if not args.no_graph else "plain launches"
    written = []
    for op in sorted(series):
        path = os.path.join(args.out, f"{op}.svg")
        with open(path, "w") as f:
            f.write(svg_chart(op, series[op], f"{', '.join(devices)}; {timing}"))
        written.append(path)
        print(f"wrote {path}")
    return written


if __name__ == "__main__":
    main()
