"""Whole-task fixtures (imported by make_metric_fixtures.py, which has loaded lmms-eval's task modules): task_scores.jsonl."""
import json, os, random, types

from eval_fixture_strings import AWKWARD


def main(m, write, quiet, SUBJECTS, OCR_TYPES):
    global metrics, mmstar, mmmu, ocr, textvqa, chartqa, sqa, mme
    metrics, mmstar, mmmu, ocr, textvqa, chartqa, sqa, mme = (m[k] for k in ["metrics", "mmstar", "mmmu", "ocrbench", "textvqa", "chartqa", "scienceqa", "mme"])
    make_task_scores(write, quiet, SUBJECTS, OCR_TYPES)


def make_task_scores(write, quiet, SUBJECTS, OCR_TYPES):
    """Whole tasks: per document, lmms-eval's Task.process_results path (generations stripped, then the task's
    process_results, or for DocVQA/InfoVQA the registered anls metric with references=answers), then every metric
    of the yaml's metric_list aggregated as evaluator_utils.TaskOutput.calculate_aggregate_metric does, with
    stderr = mean_stderr for "mean" aggregations over more than one sample (else "N/A", omitted here)."""
    rng = random.Random(9)
    gens = AWKWARD[:60] + ["  A ", "B\n", " (C) x", "yes", " No.", "the answer is D", "12", "12%", " 2019 ", "cat"]
    mean = metrics.mean
    out_rows = []

    def doc_for(task, i):
        if task == "mmstar":
            c = rng.choice(list(mmstar.eval_type_dict))
            return {"question": "q", "answer": rng.choice("ABCD"), "category": c, "l2_category": rng.choice(mmstar.eval_type_dict[c]), "index": i}
        if task == "mmmu_val":
            if rng.random() < 0.7:
                opts = rng.choice([["cat", "dog", "bird"], ["1", "2", "3", "4"]])
                return {"id": f"validation_{rng.choice(SUBJECTS)}_{i}", "question": "q", "question_type": "multiple-choice", "options": str(opts), "answer": rng.choice("ABC")}
            return {"id": f"validation_{rng.choice(SUBJECTS)}_{i}", "question": "q", "question_type": "open", "options": "[]", "answer": rng.choice(["", "12", "cat"])}
        if task == "ocrbench":
            return {"question": "q", "answer": rng.choice([["cat"], ["12", "twelve"], "yes"]), "dataset": rng.choice(["IIIT5K", "HME100k"]), "question_type": rng.choice(OCR_TYPES)}
        if task == "textvqa_val":
            return {"question": "q", "question_id": i, "answers": [rng.choice(["cat", "yes", "12", "no"]) for _ in range(10)]}
        if task in ("docvqa_val", "infovqa_val"):
            return {"question": "q", "answers": rng.choice([["cat"], ["12", "twelve"], ["yes", "Yes."]])}
        if task == "chartqa":
            return {"question": "q", "answer": rng.choice(["12", "2019", "cat", "0.5"]), "type": rng.choice(["human_test", "augmented_test"])}
        if task == "scienceqa":
            return {"question": "q", "hint": "", "choices": ["a", "b", "c", "d"], "answer": rng.randrange(4), "image": None}
        if task == "mme":
            cats = mme.eval_type_dict["Perception"] + mme.eval_type_dict["Cognition"]
            return {"question": "q", "answer": rng.choice(["Yes", "No"]), "category": cats[(i // 2 * 5) % len(cats)], "question_id": f"img{i // 2}.png"}

    def good(task, d):
        if task == "mmmu_val":
            return rng.choice(["({})", "{}", "The answer is {}."]).format(d["answer"])
        if task in ("textvqa_val", "docvqa_val", "infovqa_val"):
            return d["answers"][0]
        if task == "ocrbench":
            return d["answer"] if isinstance(d["answer"], str) else d["answer"][-1]
        if task == "scienceqa":
            return chr(65 + d["answer"])
        return d["answer"]

    process = {"mmstar": mmstar.mmstar_process_results, "mmmu_val": mmmu.mmmu_process_results, "ocrbench": ocr.ocrbench_process_results,
               "textvqa_val": textvqa.textvqa_process_results, "chartqa": chartqa.chartqa_process_results,
               "scienceqa": sqa.sqa_process_results, "mme": mme.mme_process_results,
               "docvqa_val": lambda d, r: metrics.anls(references=d["answers"], predictions=r),
               "infovqa_val": lambda d, r: metrics.anls(references=d["answers"], predictions=r)}
    ns = types.SimpleNamespace(output_path=os.path.join("/tmp", "ocrbench_fixture_out"))
    aggregate = {"mmstar": mmstar.mmstar_aggregate_results, "mmmu_val": mmmu.mmmu_aggregate_results,
                 "ocrbench": lambda items: ocr.ocrbench_aggregate_accuracy(items, ns), "mme": mme.mme_aggregate_results}
    metric_lists = {"mmstar": list(mmstar.eval_type_dict) + ["average"], "mmmu_val": ["mmmu_acc"], "ocrbench": ["ocrbench_accuracy"],
                    "textvqa_val": ["exact_match"], "docvqa_val": ["anls"], "infovqa_val": ["anls"],
                    "chartqa": ["relaxed_overall", "relaxed_human_split", "relaxed_augmented_split"], "scienceqa": ["exact_match"],
                    "mme": ["mme_perception_score", "mme_cognition_score"]}
    for task in metric_lists:
        for rep in range(3):
            n = rng.choice([1, 2, 7, 40]) if task != "mme" else rng.choice([2, 8, 40])
            docs = [doc_for(task, i) for i in range(n)]
            generations = [rng.choice(gens) if rng.random() < 0.4 else rng.choice(["", " ", "\n", "\x1c"]) + good(task, d) + rng.choice(["", " ", "\x1f"])
                           for d in docs]
            for k in OCR_TYPES:
                ocr.OCRBench_score[k] = 0
            random.seed(0)  # lmms-eval's --seed 0 before the run
            per_doc = [process[task](json.loads(json.dumps(d)), [g.strip()]) for d, g in zip(docs, generations)]
            result = {}
            for metric in metric_lists[task]:
                items = [r[metric] for r in per_doc if metric in r]
                if not items:
                    continue
                if task in aggregate:
                    result[metric] = quiet(aggregate[task], items)
                else:
                    result[metric] = mean(items)
                    if len(items) > 1:
                        result[metric + "_stderr"] = metrics.mean_stderr(items)
            out_rows.append({"task": task, "docs": docs, "generations": generations, "result": result})
    write("task_scores", out_rows)
