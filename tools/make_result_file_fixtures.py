#!/usr/bin/python3
"""Result-file fixtures for tests/NanoVlm.Evaluation.Tests, from nanoVLM's own scripts (run with /usr/bin/python3):

    /usr/bin/python3 tools/make_result_file_fixtures.py --nanovlm DIR [--out tests/fixtures/eval/result_files.json]

DIR is a checkout of huggingface/nanoVLM at 4e0c096 (run_evaluation.py and merge_eval_results.py run unmodified, in
a scratch folder). run_evaluation.py's model loading and lmms-eval call are replaced by shims that return a given
lmms-eval results dict (so only its result-file code runs); merge_eval_results.py's glob.glob is wrapped in sorted()
because the script's order is the file system's.
"""
import argparse, glob, json, os, runpy, shutil, sys, tempfile, types

ap = argparse.ArgumentParser()
ap.add_argument("--nanovlm", required=True)
ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "eval", "result_files.json"))
args = ap.parse_args()
NANOVLM = os.path.abspath(args.nanovlm)

_lmms_results = {}


class _Model:
    def to(self, device):
        return self

    def eval(self):
        return self


def shim(name, **attrs):
    m = types.ModuleType(name)
    m.__dict__.update(attrs)
    sys.modules[name] = m
    return m


shim("torch", cuda=types.SimpleNamespace(is_available=lambda: False))
shim("models")
shim("models.vision_language_model", VisionLanguageModel=types.SimpleNamespace(from_pretrained=lambda path: _Model()))
shim("models.config")
sys.modules["models"].config = sys.modules["models.config"]
shim("evaluation", cli_evaluate=lambda eval_args: [{"results": _lmms_results["value"]}])

_glob = glob.glob
glob.glob = lambda pattern, *a, **k: sorted(_glob(pattern, *a, **k))


def run(script, argv):
    sys.argv = [script] + argv
    runpy.run_path(os.path.join(NANOVLM, script), run_name="__main__")


RESULTS = [
    ("mmstar", {"mmstar": {"alias": "mmstar", "coarse perception,none": 0.3466666666666667, "coarse perception_stderr,none": "N/A",
                           "math,none": 0.1, "average,none": 0.30000000000000004, "average_stderr,none": "N/A"}}),
    ("docvqa_val", {"docvqa_val": {"alias": "docvqa_val", "anls,none": 0.6523419, "anls_stderr,none": 0.0061234}}),
    ("mmmu_val,textvqa_val", {"mmmu_val": {"alias": "mmmu_val", "mmmu_acc,none": 0.31}, "textvqa_val": {"alias": "textvqa_val",
                              "exact_match,none": 1e-05, "exact_match_stderr,none": 1.2345678901234567e-17, "submission,none": None}}),
    ("mme", {"mme": {"alias": "mme", "mme_perception_score,none": 1234.5678, "mme_cognition_score,none": 275.0}}),
    ("lmms-lab/chartqa", {"chartqa": {"alias": "chartqa", "relaxed_overall,none": 1e16, "relaxed_human_split,none": 123456789012345.6,
                                       "relaxed_augmented_split,none": 0.0}}),
    ("ocrbench", {"ocrbench": {"alias": "ocrbench", "ocrbench_accuracy,none": 0.611}}),
]

cases = {"run_evaluation": [], "merge": []}
scratch = tempfile.mkdtemp()
cwd = os.getcwd()
try:
    os.chdir(scratch)
    for i, (tasks, lmms) in enumerate(RESULTS):
        step = [500, 500, 500, 1000, 1000, 7][i]
        _lmms_results["value"] = lmms
        run("run_evaluation.py", ["--checkpoint_path", "ckpt", "--global_step", str(step), "--run_name", "runA", "--tasks", tasks])
        name = f"step_{step}_{tasks.replace('/', '_')}.json"
        with open(os.path.join("eval_results", "runA", name), encoding="utf-8") as f:
            cases["run_evaluation"].append({"tasks": tasks, "global_step": step, "run_name": "runA", "lmms_results": lmms, "file": name, "text": f.read()})
    # merge: step 500 has three parts (plus a part written by hand with an int, a bool-free string value and unicode)
    with open(os.path.join("eval_results", "runA", "step_500_custom.json"), "w") as f:
        json.dump({"global_step": 500, "results": {"custom_count": 3, "mmstar_average": 0.5, "caf\u00e9_\U0001F600": 1.5, "note": "N/A"}}, f, indent=4)
    parts = {os.path.basename(p): open(p, encoding="utf-8").read() for p in sorted(glob.glob(os.path.join("eval_results", "runA", "step_500_*.json")))}
    run("merge_eval_results.py", ["--run_name", "runA", "--global_step", "500"])
    with open(os.path.join("eval_results", "runA", "step_500.json"), encoding="utf-8") as f:
        merged = f.read()
    left = sorted(os.listdir(os.path.join("eval_results", "runA")))
    cases["merge"].append({"global_step": 500, "run_name": "runA", "parts": parts, "merged": merged, "files_after": left})
finally:
    os.chdir(cwd)
    shutil.rmtree(scratch)
with open(args.out, "w", encoding="ascii") as f:
    json.dump(cases, f, indent=1, ensure_ascii=True)
print(f"{len(cases['run_evaluation'])} run_evaluation cases, {len(cases['merge'])} merge case -> {args.out}")
