#!/usr/bin/env python3
"""Same-run A/B of two builds of our engine (no peers): the `bench` example of each build is run on
one workload per subprocess, the two builds alternated per workload, thread count and repetition.

    cargo build --release -p conform-optimized --example bench   # in each of two checkouts
    python3 optimized/bench/ab_ours.py --before A/target/release/examples/bench \
        --after B/target/release/examples/bench [--reps 11] [--workloads bench/shapes.json]

Prints a markdown table: per workload and thread count the median of each build's per-measurement
medians (21 calls each) and the median over repetitions of before/after (> 1: the after build is faster).
"""
import argparse, json, os, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--before", required=True)
    ap.add_argument("--after", required=True)
    ap.add_argument("--reps", type=int, default=11)
    ap.add_argument("--workloads", default=os.path.join(ROOT, "bench", "shapes.json"))
    a = ap.parse_args()
    spec = json.load(open(a.workloads))
    tmp = tempfile.mkdtemp(prefix="ab_ours_")
    files = []
    for w in spec["workloads"]:
        one = dict(spec, workloads=[w])
        path = os.path.join(tmp, w["id"] + ".json")
        json.dump(one, open(path, "w"))
        files.append((w["id"], path))
    bins = {"before": a.before, "after": a.after}
    res = {}
    for r in range(a.reps):
        order = ["before", "after"] if r % 2 == 0 else ["after", "before"]
        for wid, path in files:
            for t in (1, 2):
                for b in order:
                    out = subprocess.run([bins[b], "--workloads", path, "--threads", str(t), "--reps", "21", "--json"],
                                         capture_output=True, text=True, check=True).stdout
                    res.setdefault((wid, t), {}).setdefault(b, []).append(json.loads(out)["workloads"][0]["median_us"])
    load = open("/proc/loadavg").read().split()[:3]
    print(f"A/B at {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {a.reps} repetitions, load after {' '.join(load)}")
    print("| workload | thr | before us | after us | speed-up (median of per-repetition ratios) |")
    print("|---|---:|---:|---:|---:|")
    for t in (1, 2):
        for wid, _ in files:
            d = res[(wid, t)]
            ratios = [x / y for x, y in zip(d["before"], d["after"])]
            print(f"| {wid} | {t} | {statistics.median(d['before']):.1f} | {statistics.median(d['after']):.1f} | "
                  f"{statistics.median(ratios):.2f}x |")


if __name__ == "__main__":
    sys.exit(main())
