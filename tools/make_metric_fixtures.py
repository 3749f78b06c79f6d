#!/usr/bin/python3
"""Generate the metric and prompt fixtures for tests/NanoVlm.Evaluation.Tests (run with Debian's /usr/bin/python3).

    /usr/bin/python3 tools/make_metric_fixtures.py --lmms-eval DIR [--nanovlm DIR] [--out tests/fixtures/eval]

DIR is a checkout of EvolvingLMMs-Lab/lmms-eval at 654bd6c7 (the folder that contains `lmms_eval/`), e.g.
    git --git-dir=<mirror> archive 654bd6c7 lmms_eval | tar -x -C DIR
and --nanovlm a checkout of huggingface/nanoVLM at 4e0c096 (the folder with `eval/lmms_eval_wrapper.py`).

lmms-eval's own task modules run UNMODIFIED from that checkout. Only their heavy imports are replaced at run time
by tiny shim modules (loguru, sacrebleu, the metric registry's decorators, the LLM-judge client, lmms_eval's package
__init__ files, which pull in torch/datasets/transformers); the shims provide no metric logic. The same goes for
nanoVLM's wrapper: NanoVLMWrapper.get_benchmark_formatting / apply_benchmark_formatting are called on an object
made without running __init__ (no model is loaded).

Writes <out>/<metric>.jsonl (one case per line, with the score lmms-eval gives) and <out>/<metric>_aggregate.jsonl
(lists of per-sample records and lmms-eval's aggregated numbers), and through its helper modules task_scores.jsonl
(make_task_score_fixtures.py), python_text.txt / python_float.jsonl (make_python_text_fixtures.py) and, with
--nanovlm, prompts.jsonl (make_prompt_fixtures.py).
Deterministic: a fixed random.Random per file; PYTHONHASHSEED is pinned (the script re-executes itself) because
MMMU's open-answer parser goes through a set().
"""
import argparse, ast, contextlib, importlib, importlib.util, json, os, random, sys, types

if os.environ.get("PYTHONHASHSEED") != "0":
    os.environ["PYTHONHASHSEED"] = "0"
    os.execv(sys.executable, [sys.executable] + sys.argv)

ap = argparse.ArgumentParser()
ap.add_argument("--lmms-eval", required=True)
ap.add_argument("--nanovlm", default=None)
ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "eval"))
args = ap.parse_args()
LMMS = os.path.abspath(args.lmms_eval)
os.makedirs(args.out, exist_ok=True)


# ---------------------------------------------------------------- shims (imports only, no metric logic)
class _Nop:
    def __getattr__(self, name):
        return lambda *a, **k: None


def shim(name, **attrs):
    m = types.ModuleType(name)
    m.__dict__.update(attrs)
    sys.modules[name] = m
    return m


def package(name, path):
    m = shim(name)
    m.__path__ = [path]
    return m


shim("loguru", logger=_Nop())
shim("sacrebleu")
package("lmms_eval", os.path.join(LMMS, "lmms_eval"))
package("lmms_eval.tasks", os.path.join(LMMS, "lmms_eval", "tasks"))
package("lmms_eval.api", os.path.join(LMMS, "lmms_eval", "api"))
shim("lmms_eval.api.registry", register_aggregation=lambda name: (lambda f: f), register_metric=lambda **kw: (lambda f: f))
shim("lmms_eval.llm_judge", ServerConfig=lambda **kw: None, get_server=lambda **kw: _Nop())


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_prompt_fixtures, make_python_text_fixtures, make_task_score_fixtures  # noqa: E402


def load(mod):
    return importlib.import_module(mod)


metrics = load("lmms_eval.api.metrics")
mmstar = load("lmms_eval.tasks.mmstar.utils")
mmmu = load("lmms_eval.tasks.mmmu.utils")
ocr = load("lmms_eval.tasks.ocrbench.utils")
textvqa = load("lmms_eval.tasks.textvqa.utils")
docvqa = load("lmms_eval.tasks.docvqa.utils")
infovqa = load("lmms_eval.tasks.infovqa.utils")
chartqa = load("lmms_eval.tasks.chartqa.utils")
sqa = load("lmms_eval.tasks.scienceqa.utils")
mme = load("lmms_eval.tasks.mme.utils")


def quiet(f, *a):
    with contextlib.redirect_stdout(open(os.devnull, "w")):
        return f(*a)


def write(name, rows):
    with open(os.path.join(args.out, name + ".jsonl"), "w", encoding="ascii") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=True, allow_nan=False) + "\n")
    print(f"{name}: {len(rows)} rows")


from eval_fixture_strings import AWKWARD, jitter  # noqa: E402


# ---------------------------------------------------------------- MMStar
def make_mmstar():
    rng = random.Random(1)
    rows = []
    letters = ["A", "B", "C", "D"]
    for pred in AWKWARD:
        gt = rng.choice(letters)
        rows.append({"pred": pred, "answer": gt, "score": mmstar.exact_match(pred, gt)})
    forms = ["{L}", "({L})", "({L}) x", "option {L}", "Option {L}.", "the answer is {L}", "The answer is ({L})",
             "{L}. x", "{l}", " {L} ", "\n{L}", "answer {L}", "(  {L})", "the answer is  {L}", "option  {L}", "{L}{L}"]
    for _ in range(300):
        L = rng.choice(letters)
        other = rng.choice(letters)
        pred = rng.choice(forms).format(L=other if rng.random() < 0.3 else L, l=L.lower())
        pred = jitter(rng, pred)
        gt = L if rng.random() < 0.9 else rng.choice([L.lower(), " " + L + "\n", "", "AB"])
        rows.append({"pred": pred, "answer": gt, "score": mmstar.exact_match(pred, gt)})
    write("mmstar", rows)

    cats = list(mmstar.eval_type_dict.keys())
    agg = []
    for t in range(40):
        n = rng.randrange(1, 60)
        samples = []
        for i in range(n):
            c = rng.choice(cats[: rng.randrange(1, 7)])
            l2 = rng.choice(mmstar.eval_type_dict[c])
            samples.append({"category": c, "l2_category": l2, "score": float(rng.random() < 0.4), "index": i})
        result = {}
        for metric in cats + ["average"]:
            items = []
            for s in samples:
                out = mmstar.mmstar_process_results({"answer": "A", "category": s["category"], "l2_category": s["l2_category"], "index": s["index"]},
                                                    ["A" if s["score"] else "Z"])
                if metric in out:
                    items.append(out[metric])
            if items:
                result[metric] = mmstar.mmstar_aggregate_results(items)
        agg.append({"samples": samples, "result": result})
    write("mmstar_aggregate", agg)


# ---------------------------------------------------------------- MMMU
SUBJECTS = ["Art", "Accounting", "Math", "Physics", "Clinical_Medicine", "History", "Computer_Science", "Music"]


def make_mmmu():
    rng = random.Random(2)
    random.seed(0)  # lmms-eval's default --seed 0; the C# default fallback replays this stream in case order
    rows = []
    option_sets = [["cat", "dog", "bird", "fish"], ["1", "2", "3"], ["red apple", "green pear"],
                   ["$5", "$10", "$15", "$20", "$25"], ["Straße", "STRASSE", "ß"], ["the cat sat", "a dog ran", "no"],
                   ["A", "B", "C", "D"], ["x" * 50, "y" * 50], ["İstanbul", "istanbul"], ["\U0001F600", "\U0001F601"]]
    preds_mc = AWKWARD + ["I think the answer is (B) and not (A)", "(C) (A)", "A B C", "B. C.", "A. B.",
                          "the answer is dog, definitely the dog over the cat", "it must be a red apple surely yes",
                          "It is green pear not red apple at all okay", "(E)", "B C", "answer: (D).", "C,", "'A'",
                          "the correct choice here is the one with STRASSE in it", "A.B.", "(a)", ":B!",
                          "one two three four five six", "cat dog bird fish cat dog"]
    for i, pred in enumerate(preds_mc + [jitter(rng, rng.choice(preds_mc)) for _ in range(150)]):
        opts = rng.choice(option_sets)
        ans = rng.choice([chr(65 + k) for k in range(len(opts))])
        doc = {"id": f"validation_{rng.choice(SUBJECTS)}_{i}", "question_type": "multiple-choice", "options": str(opts), "answer": ans}
        out = mmmu.mmmu_process_results(doc, [pred])["mmmu_acc"]
        _, m = mmmu.evaluate_mmmu([out])
        rows.append({"question_type": "multiple-choice", "pred": pred, "options": opts, "answer": ans,
                     "parsed": out["parsed_pred"][0], "score": m["acc"]})
    preds_open = AWKWARD + ["The answer is 42.", "so x = 3.14159", "Thus the result is 1,234.", "it is 5. Then 6",
                            "Therefore, final answer 2e3", "x = -7", "the value is .5 and 0.25", "is", "so .", "answer :",
                            "Final answer is 12,345,678 units", "A. B. C", "1.005", "2.675", "0.125", "-0.125",
                            "could be 10 or 20", "The result\nis 7\nso 8", "Value = 3.0e-2"]
    golds = ["", " ", "42", "3.14", "x", "Paris", "1,234", "\x1c", "1.5e3", "inf", "a b", "A"]
    for i, pred in enumerate(preds_open + [jitter(rng, rng.choice(preds_open)) for _ in range(100)]):
        gold = rng.choice(golds)
        doc = {"id": f"validation_{rng.choice(SUBJECTS)}_{1000 + i}", "question_type": "open", "options": "[]", "answer": gold}
        out = mmmu.mmmu_process_results(doc, [pred])["mmmu_acc"]
        _, m = mmmu.evaluate_mmmu([out])
        cands = mmmu.parse_open_response(pred)
        rows.append({"question_type": "open", "pred": pred, "answer": gold, "score": m["acc"],
                     "candidates": sorted([["num", repr(c)] if isinstance(c, float) else ["str", c] for c in cands])})
    write("mmmu", rows)

    agg = []
    for t in range(30):
        samples = []
        for i in range(rng.randrange(1, 50)):
            subj = rng.choice(SUBJECTS[: rng.randrange(1, len(SUBJECTS) + 1)])
            correct = rng.random() < 0.45
            samples.append({"id": f"validation_{subj}_{i}", "subdomain": subj, "question_type": "multiple-choice",
                            "answer": "A", "parsed_pred": ["A" if correct else "B"]})
        agg.append({"samples": [{"subject": s["subdomain"], "correct": s["parsed_pred"][0] == "A"} for s in samples],
                    "result": quiet(mmmu.mmmu_aggregate_results, samples)})
    write("mmmu_aggregate", agg)
    for s in ["validation_Art_Theory_12", "dev_Clinical_Medicine_1", "test_Math_0"]:
        assert mmmu.extract_subset_name(s)


# ---------------------------------------------------------------- OCRBench
OCR_TYPES = list(ocr.OCRBench_score.keys())


def make_ocrbench():
    rng = random.Random(3)
    rows = []
    gts = ["hello", "Hello World", "x^{2}+1", "\\frac { a } { b }", "ß", "SS", "", " ", "a\nb", "A B", "İ", "i\u0307",
           "42", "\U0001F600", "straße", "STRASSE", "e\u0301"]
    for i, pred in enumerate(AWKWARD + [jitter(rng, rng.choice(AWKWARD + gts)) for _ in range(200)]):
        ds = rng.choice(["HME100k", "IIIT5K", "docVQA", "HME100k"])
        if rng.random() < 0.4:
            gt = [rng.choice(gts) for _ in range(rng.randrange(1, 4))]
        else:
            gt = rng.choice(gts)
        if rng.random() < 0.3:
            pred = pred + " " + (gt[0] if isinstance(gt, list) else gt) + rng.choice(["", " x", "\n"])
        out = ocr.ocrbench_process_results({"answer": gt, "dataset": ds, "question_type": OCR_TYPES[0]}, [pred])["ocrbench_accuracy"]
        rows.append({"pred": pred, "answers": gt, "dataset": ds, "score": out["score"]})
    write("ocrbench", rows)
    agg = []
    for t in range(20):
        samples = [{"question_type": rng.choice(OCR_TYPES), "score": int(rng.random() < 0.5)} for _ in range(rng.randrange(1, 300))]
        for k in OCR_TYPES:
            ocr.OCRBench_score[k] = 0  # module-level accumulator: one lmms-eval run aggregates once
        ns = types.SimpleNamespace(output_path=os.path.join("/tmp", "ocrbench_fixture_out"))
        agg.append({"samples": samples, "result": quiet(ocr.ocrbench_aggregate_accuracy, samples, ns)})
    write("ocrbench_aggregate", agg)


# ---------------------------------------------------------------- TextVQA (VQA accuracy, EvalAI processor)
def make_textvqa():
    rng = random.Random(4)
    proc = textvqa.EvalAIAnswerProcessor()
    words = ["yes", "no", "two", "2", "the cat", "cat", "coca cola", "coca-cola", "Coca Cola.", "dont", "don't", "10",
             "ten", "3.5", "3.5.", "u.s.", "mr. smith", "it's", "hes", "a", "ß", "straße", "12,000", "12000", "none",
             "0", "", "STOP", "stop", "1:30", "a dog", "an apple", "(5)", "x-ray", "x ray", "xray"]
    proc_rows = []
    for s in AWKWARD + words:
        proc_rows.append({"input": s, "output": proc(s)})
    write("evalai_processor", proc_rows)
    rows = []
    for i in range(400):
        base = rng.choice(words)
        answers = [jitter(rng, base) if rng.random() < 0.6 else rng.choice(words) for _ in range(rng.choice([10, 10, 10, 1, 3, 5]))]
        pred = rng.choice([jitter(rng, base), rng.choice(AWKWARD), rng.choice(words)])
        doc = {"answers": list(answers), "question_id": i}
        out = textvqa.textvqa_process_results(doc, [pred])
        rows.append({"pred": pred, "answers": answers, "score": out["exact_match"]})
    write("textvqa", rows)
    agg = []
    for t in range(20):
        scores = [rng.choice([0.0, 1 / 3, 2 / 3, 1.0, 0.3, 0.9]) for _ in range(rng.randrange(1, 400))]
        agg.append({"scores": scores, "mean": metrics.mean(scores),
                    "stderr": metrics.mean_stderr(scores) if len(scores) > 1 else "N/A"})
    write("mean_aggregate", agg)


# ---------------------------------------------------------------- ANLS (DocVQA / InfoVQA)
def make_anls():
    rng = random.Random(5)
    gts = ["Hello World", "hello  world", "ß", "SS", "straße", "STRASSE", "1,234", "$5.00", "", " ", "ﬀ", "ﬃ",
           "İstanbul", "\U0001F600 smile", "e\u0301", "abc", "abd", "a\x1cb", "x" * 300, "ŉ", "ΣΑΣ"]
    rows = []
    for i, pred in enumerate(AWKWARD + [jitter(rng, rng.choice(gts)) for _ in range(250)]):
        refs = [rng.choice(gts) for _ in range(rng.randrange(1, 4))]
        if rng.random() < 0.4:
            r = list(refs[0])
            for _ in range(rng.randrange(0, 4)):
                if r:
                    r[rng.randrange(len(r))] = rng.choice(["x", "S", " ", "\u00df", ""])
            pred = jitter(rng, "".join(r))
        rows.append({"pred": pred, "answers": refs, "score": metrics.anls(refs, [pred])["anls"]})
    write("anls", rows)


# ---------------------------------------------------------------- ChartQA relaxed accuracy
def make_chartqa():
    rng = random.Random(6)
    nums = ["12", "12%", "0", "0%", "100", "95", "105", "5.25", "5", "1e3", "1000", "inf", "nan", "1_000", "-3", "abc",
            "Yes", "yes", "0.5", "50%", "١٢", "１２", " 12 ", "\x1c12", "12\x1f", "1e400", "2020", "19.99", "20"]
    rows = []
    for pred in AWKWARD + nums:
        for tgt in rng.sample(nums, 4):
            rows.append({"pred": pred, "answer": tgt, "type": rng.choice(["human_test", "augmented_test"]),
                         "score": chartqa.chartqa_process_results({"type": "human_test", "answer": tgt}, [pred])["relaxed_overall"]})
    # numbers near the 5% boundary
    for _ in range(150):
        t = rng.choice([1, 3, 7, 20, 100, 0.3, 1e-3, 12345])
        p = t * (1 + rng.choice([0.05, -0.05, 0.0499999, 0.0500001, 0.049, 0.051]))
        tgt, pred = repr(float(t)), repr(p)
        if rng.random() < 0.3:
            tgt, pred = tgt + "%", pred + "%"
        rows.append({"pred": pred, "answer": tgt, "type": "augmented_test",
                     "score": chartqa.chartqa_process_results({"type": "augmented_test", "answer": tgt}, [pred])["relaxed_overall"]})
    write("chartqa", rows)


# ---------------------------------------------------------------- ScienceQA
def make_scienceqa():
    rng = random.Random(7)
    rows = []
    preds = AWKWARD + ["A.", "B. cat", "b. cat", "C", "c", "D.x", "\u212a.", "Ⓐ.", "A .", "AB", "(A)", " A ", "A\n"]
    for pred in preds + [jitter(rng, rng.choice(preds)) for _ in range(150)]:
        n = rng.randrange(2, 6)
        ans = rng.randrange(n)
        if rng.random() < 0.5:
            pred = jitter(rng, rng.choice(["{L}", "{L}.", "{L}. c", "{l}", "{l}. c", "({L})", "{L}:"]).format(L=chr(65 + ans), l=chr(97 + ans)))
        doc = {"choices": [f"c{k}" for k in range(n)], "answer": ans}
        rows.append({"pred": pred, "answer": ans, "num_choices": n, "score": sqa.sqa_process_results(doc, [pred])["exact_match"]})
    write("scienceqa", rows)


# ---------------------------------------------------------------- MME
def make_mme():
    rng = random.Random(8)
    rows = []
    for pred in AWKWARD + [jitter(rng, rng.choice(["yes", "no", "Yes.", "No", "y", "n", "maybe", "not sure", "yes, it is"])) for _ in range(150)]:
        rows.append({"pred": pred, "parsed": mme.parse_pred_ans(pred)})
    write("mme_parse", rows)
    cats = mme.eval_type_dict["Perception"] + mme.eval_type_dict["Cognition"]
    agg = []
    for t in range(30):
        samples = []
        for q in range(rng.randrange(1, 40)):
            c = rng.choice(cats)
            for k in range(2):
                gt = rng.choice(["Yes", "No", "yes.", " no"])
                pred = rng.choice(["Yes", "No", "yes", "no.", "maybe", "y", "", "Noo"])
                samples.append({"question_id": f"{c}/{q}.png", "category": c, "answer": gt, "pred": pred})
        rng.shuffle(samples)
        result = {}
        for metric in ["mme_perception_score", "mme_cognition_score"]:
            items = []
            for s in samples:
                out = mme.mme_process_results(s, [s["pred"]])
                if metric in out:
                    items.append(out[metric])
            if items:
                result[metric] = mme.mme_aggregate_results(items)
        agg.append({"samples": samples, "result": result})
    write("mme_aggregate", agg)


MODULES = {"metrics": metrics, "mmstar": mmstar, "mmmu": mmmu, "ocrbench": ocr, "textvqa": textvqa, "docvqa": docvqa,
           "infovqa": infovqa, "chartqa": chartqa, "scienceqa": sqa, "mme": mme}
make_python_text_fixtures.main(args.out, write)
make_task_score_fixtures.main(MODULES, write, quiet, SUBJECTS, OCR_TYPES)
make_mmstar()
make_mmmu()
make_ocrbench()
make_textvqa()
make_anls()
make_chartqa()
make_scienceqa()
make_mme()
if args.nanovlm and os.path.isdir(args.nanovlm):
    make_prompt_fixtures.main(args.nanovlm, args.out, MODULES, LMMS)
else:
    print(f"(no nanoVLM checkout at {args.nanovlm}: prompts.jsonl not written)")


