#!/usr/bin/python3
"""The tables of perf-reports/training.md from the raw files of one tools/train_bench.sh run.

  /usr/bin/python3 tools/train_bench_summary.py OUT WARMUP [AUTOCAST ...]

Per run, over the steps after the first WARMUP: real (attended) tokens, padded positions (batch x sequence
length), wall time from the end of step WARMUP to the end of the last step, the steps' data wait and compute
(fw_bw + optimizer); and from /usr/bin/time the CPU seconds of the whole run (process + loader workers, start-up
and warm-up included). .NET: metrics.jsonl (real tokens = tokens_per_second x fw_bw_time, positions = tokens /
(1 - padding_ratio)); Python: tools/train_reference_bench.py's JSON. Writes OUT/summary.json, prints markdown.
"""
import json
import statistics
import sys

out, warm, autocasts = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
def cs(mode):
    rows = [json.loads(l) for l in open(f"{out}/run_{mode}/metrics.jsonl") if '"batch_loss"' in l]
    tok = [r["tokens_per_second"] * r["fw_bw_time"] for r in rows]
    return dict(name=f"nanovlm train --attention {mode}", steps=len(rows), t=[r["elapsed"] for r in rows], tokens=tok,
                positions=[t / (1 - r["padding_ratio"]) for t, r in zip(tok, rows)], data=[r["data_load_time"] for r in rows],
                compute=[r["fw_bw_time"] for r in rows], loss=[r["batch_loss"] for r in rows],
                time=json.load(open(f"{out}/time_cs_{mode}.json")))
def py(a):
    r = json.load(open(f"{out}/py_{a}.json"))
    return dict(name=f"nanoVLM train.py step, autocast {a}", steps=r["steps"], t=r["t"], tokens=r["tokens"], positions=r["positions"],
                data=r["data_load_time"], compute=[f + p for f, p in zip(r["fw_bw_time"], r["post_process_time"])], loss=r["loss"],
                time=json.load(open(f"{out}/time_py_{a}.json")))
def summary(s):
    k = slice(warm, None)
    wall = s["t"][-1] - s["t"][warm - 1]
    tok, pos, data, comp = sum(s["tokens"][k]), sum(s["positions"][k]), sum(s["data"][k]), sum(s["compute"][k])
    return dict(s, n=len(s["tokens"][k]), wall=wall, tok=tok, fill=tok / pos, tok_s=tok / wall, pos_s=pos / wall,
                pos_s_compute=pos / comp, data_share=data / wall, compute_share=comp / wall,
                step_s=wall / len(s["tokens"][k]), cpu=s["time"]["user_s"] + s["time"]["sys_s"],
                # load-robust: the median step's compute rate, and real tokens of the whole run per CPU second
                pos_s_compute_median=statistics.median(p / c for p, c in zip(s["positions"][k], s["compute"][k])),
                tok_per_cpu_s=sum(s["tokens"]) / (s["time"]["user_s"] + s["time"]["sys_s"]))
sides = [summary(cs("document"))] + [summary(py(a)) for a in autocasts] + [summary(cs("nanovlm"))]
json.dump([{k: v for k, v in s.items() if not isinstance(v, list)} for s in sides], open(f"{out}/summary.json", "w"), indent=1)
print(f"\nsteps {warm + 1}.. of each run (first {warm} left out)\n")
print("| run | steps | s/step | real tok/s | fill (real/padded) | padded pos/s | padded pos/s in compute | data wait share | compute share | median step pos/s in compute | loss first→last | CPU s (whole run) | real tok per CPU s (whole run) | max RSS MB |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|")
for s in sides:
    print(f"| {s['name']} | {s['n']} | {s['step_s']:.2f} | {s['tok_s']:.0f} | {s['fill']:.3f} | {s['pos_s']:.0f} | {s['pos_s_compute']:.0f} | "
          f"{100 * s['data_share']:.2f}% | {100 * s['compute_share']:.1f}% | {s['pos_s_compute_median']:.0f} | {s['loss'][0]:.2f}→{s['loss'][-1]:.2f} | {s['cpu']:.0f} | "
          f"{s['tok_per_cpu_s']:.0f} | {s['time']['max_rss_kb'] / 1024:.0f} |")
ours = sides[0]
print("\nratios, engine (document attention) / nanoVLM = fill ratio × padded-positions/s-in-compute ratio × compute-share ratio\n")
print("| vs | real tok/s | fill | kernel (pos/s in compute) | compute share | fill × compute share (kernel-neutral) | median-step kernel | real tok per CPU s |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for s in sides[1:]:
    f, k, c = ours["fill"] / s["fill"], ours["pos_s_compute"] / s["pos_s_compute"], ours["compute_share"] / s["compute_share"]
    print(f"| {s['name']} | {ours['tok_s'] / s['tok_s']:.2f}× | {f:.2f}× | {k:.2f}× | {c:.2f}× | {f * c:.2f}× | "
          f"{ours['pos_s_compute_median'] / s['pos_s_compute_median']:.2f}× | {ours['tok_per_cpu_s'] / s['tok_per_cpu_s']:.2f}× |")
