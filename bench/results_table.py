"""Markdown table of Tessera's mHC benchmark beside the PyTorch peers (same card, same day).

    python3 bench/results_table.py --tessera mhc.json --peer torch_peer.json [--peer torch_ext.json]

One row per (op, H, T): Tessera graph-replay µs and fraction of the copy-bandwidth floor, then
torch.compile (graph replay) and eager (graph replay) µs, and Tessera's speed-up over
torch.compile. Pure standard library.
"""
import argparse
import json


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tessera", required=True)
    ap.add_argument("--peer", action="append", default=[])
    args = ap.parse_args()
    tess = json.load(open(args.tessera))
    peer = {}
    for path in args.peer:
        for r in json.load(open(path))["rows"]:
            peer[(r["op"], int(r["H"]), int(r["T"]))] = r
    print(f"Device: {tess['device']}; copy bandwidth {tess['copy_bw'] / 1e12:.2f} TB/s (read+write)\n")
    print("| op | H | T | Tessera graph µs | floor µs | Tessera frac | torch.compile graph µs "
          "| torch eager graph µs | speed-up vs compile |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in tess["rows"]:
        key = (r["op"], int(r["H"]), int(r["T"]))
        p = peer.get(key)
        g = r.get("graph_us", r["us"])
        comp = f"{p['compiled_graph_us']:.1f}" if p else "–"
        eager = f"{p['eager_graph_us']:.1f}" if p else "–"
        speed = f"{p['compiled_graph_us'] / g:.2f}×" if p else "–"
        print(f"| {r['op']} | {key[1] or '–'} | {key[2]} | {g:.1f} | {r['floor_us']:.2f} "
              f"| {r['floor_us'] / g:.2f} | {comp} | {eager} | {speed} |")


if __name__ == "__main__":
    main()
