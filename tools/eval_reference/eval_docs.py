"""Small benchmark documents in the column layouts of the tasks' public parquet releases (lmms-lab/DocVQA,
lmms-lab/textvqa, lmms-lab/ChartQA, echo840/OCRBench, lmms-lab/MME, Lin-Chen/MMStar, lmms-lab/ScienceQA,
lmms-lab/MMMU), with seeded random PNG images of several sizes (so the image processor picks different grids).

A layout is a list of (column, type): string, int64, int8, strings (list of string), image (the `datasets` Image
feature: a {"bytes", "path"} struct, null where a row has no image). The C# test writes the rows as parquet files
with exactly these types and reads them back through EvalDatasets.ReadParquet.
"""
import io
import random

from PIL import Image

LAYOUTS = {
    "docvqa_val": [("questionId", "string"), ("question", "string"), ("answers", "strings"), ("image", "image")],
    "textvqa_val": [("question_id", "int64"), ("question", "string"), ("answers", "strings"), ("image", "image")],
    "chartqa": [("question", "string"), ("answer", "string"), ("type", "string"), ("image", "image")],
    "ocrbench": [("question", "string"), ("answer", "string"), ("dataset", "string"), ("question_type", "string"), ("image", "image")],
    "mme": [("question_id", "string"), ("question", "string"), ("answer", "string"), ("category", "string"), ("image", "image")],
    "mmstar": [("index", "int64"), ("question", "string"), ("image", "image"), ("answer", "string"), ("category", "string"),
               ("l2_category", "string")],
    "scienceqa": [("image", "image"), ("question", "string"), ("choices", "strings"), ("answer", "int8"), ("hint", "string")],
    "mmmu_val": [("id", "string"), ("question", "string"), ("options", "string"), ("question_type", "string"), ("answer", "string")]
                + [(f"image_{k}", "image") for k in range(1, 8)],
}

SIZES = [(32, 32), (64, 40), (50, 64), (70, 30), (20, 60), (64, 64), (33, 17), (90, 45)]


def png(rng, k):
    w, h = SIZES[k % len(SIZES)]
    img = Image.new("RGB", (w, h))
    img.putdata([(rng.randrange(256), rng.randrange(256), rng.randrange(256)) for _ in range(w * h)])
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return {"bytes": buf.getvalue(), "path": f"img{k}.png"}


def documents():
    """{task: rows}; answers here are placeholders that make_eval_e2e_fixtures.py partly replaces by the model's
    own answers (the prompts do not contain them), so the scores are not all zero."""
    rng = random.Random(12)
    k = iter(range(1000))
    img = lambda: png(rng, next(k))  # noqa: E731
    docs = {}
    docs["docvqa_val"] = [{"questionId": str(50 + i), "question": q, "answers": ["May 1", f"answer {i}"], "image": img()}
                          for i, q in enumerate(["What is the date?", "Who signed the letter at the bottom of the page?", "Total?",
                                                 "What is the name of the company?", "Which year is shown in the top right corner of the form?"])]
    docs["textvqa_val"] = [{"question_id": 34602 + i, "question": q, "answers": ["nokia"] * 10, "image": img()}
                           for i, q in enumerate(["what is the brand of this camera?", "what does the small white text spell?",
                                                  "what time is it?", "is this a stop sign?"])]
    docs["chartqa"] = [{"question": q, "answer": a, "type": t, "image": img()}
                       for q, a, t in [("What is the highest value?", "42", "human_test"), ("How many bars are there?", "5", "augmented_test"),
                                       ("Which year had the lowest sales?", "2019", "human_test"), ("What is the ratio of A to B?", "0.25", "augmented_test")]]
    docs["ocrbench"] = [{"question": q, "answer": a, "dataset": d, "question_type": t, "image": img()}
                        for q, a, d, t in [("what is written in the image?", "CENTRE", "IIIT5K", "Regular Text Recognition"),
                                           ("what is written in the image?", "slow", "SVT", "Regular Text Recognition"),
                                           ("Please write out the expression of the formula in the image using LaTeX format.", "x^2", "HME100k",
                                            "Handwritten Mathematical Expression Recognition"),
                                           ("What is the title of the document?", "Annual report", "docVQA", "Doc-oriented VQA")]]
    mme_q = [("color", "Is there a red car in the image? Please answer yes or no.", "Yes"),
             ("color", "Is there a blue car in the image? Please answer yes or no.", "No"),
             ("code_reasoning", "Is the output of the code 5? Please answer yes or no.", "Yes"),
             ("code_reasoning", "Is the output of the code 7? Please answer yes or no.", "No")]
    mme_img = [img(), img()]
    docs["mme"] = [{"question_id": f"{c}/{i // 2}.png", "question": q, "answer": a, "category": c, "image": mme_img[i // 2]}
                   for i, (c, q, a) in enumerate(mme_q)]
    cats = [("coarse perception", "image scene and topic"), ("math", "numeric commonsense and calculation"),
            ("science & technology", "biology & chemistry & physics"), ("logical reasoning", "code & sequence reasoning")]
    docs["mmstar"] = [{"index": i, "question": f"Which shape is shown{'?' * (i + 1)}\nOptions: A: circle, B: square, C: star, D: line",
                       "image": img(), "answer": "ABCD"[i], "category": c, "l2_category": l2} for i, (c, l2) in enumerate(cats)]
    docs["scienceqa"] = [
        {"image": img(), "question": "Which is warmer?", "choices": ["ice", "fire"], "answer": 1, "hint": ""},
        {"image": None, "question": "Which is a mammal?", "choices": ["cat", "trout", "frog"], "answer": 0, "hint": "Look at the list."},
        {"image": img(), "question": "What colour is it?", "choices": ["red", "blue"], "answer": 0, "hint": ""},
        {"image": img(), "question": "Which word comes first in the dictionary?", "choices": ["zebra", "apple", "mango", "kiwi"], "answer": 1,
         "hint": "Two\nlines of context."},
    ]
    no_images = {f"image_{j}": None for j in range(1, 8)}
    docs["mmmu_val"] = [
        {**no_images, "id": "validation_Art_1", "question": "<image 1> Which art style is shown?", "options": "['Cubism', 'Baroque', 'Pop art']",
         "question_type": "multiple-choice", "answer": "A", "image_1": img()},
        {**no_images, "id": "validation_Math_2", "question": "Compare <image 1> and <image 2>. Which is larger?", "options": "['left', 'right']",
         "question_type": "multiple-choice", "answer": "B", "image_1": img(), "image_2": img()},
        {**no_images, "id": "validation_Physics_3", "question": "<image 1> What is the speed in m/s?", "options": "[]",
         "question_type": "open", "answer": "12", "image_1": img()},
    ]
    return docs
