"""Prompt fixtures (imported by make_metric_fixtures.py, which has put lmms-eval's task modules in place).

For synthetic documents of every task: lmms-eval's doc_to_text with the task yaml's default lmms_eval_specific_kwargs,
then nanoVLM's NanoVLMWrapper.apply_benchmark_formatting (eval/lmms_eval_wrapper.py at 4e0c096, run unmodified; the
wrapper object is made without __init__, so no model or tokenizer is loaded), get_image_string per image (one image
per call, as the wrapper does) and the ChatML generation prompt of nanoVLM's default lm_chat_template.
Writes <out>/prompts.jsonl.
"""
import importlib, json, os, re, sys, types

import yaml


def _shim(name, **attrs):
    m = types.ModuleType(name)
    m.__dict__.update(attrs)
    sys.modules[name] = m
    return m


class _Named:
    def __init__(self, name):
        self.name = name

    def convert(self, mode):
        return self.name


def _yaml(path):
    with open(path) as f:
        data = yaml.safe_load("".join(l for l in f if "!function" not in l)) or {}
    if "include" in data:
        base = _yaml(os.path.join(os.path.dirname(path), data.pop("include")))
        base.update(data)
        data = base
    return data


# task name -> (lmms-eval module key, yaml file, doc_to_text function name)
TASKS = {
    "mmstar": ("mmstar", "mmstar/mmstar.yaml", "mmstar_doc_to_text"),
    "mmmu_val": ("mmmu", "mmmu/mmmu_val.yaml", "mmmu_doc_to_text"),
    "ocrbench": ("ocrbench", "ocrbench/ocrbench.yaml", "ocrbench_doc_to_text"),
    "textvqa_val": ("textvqa", "textvqa/textvqa_val.yaml", "textvqa_doc_to_text"),
    "docvqa_val": ("docvqa", "docvqa/docvqa_val.yaml", "docvqa_doc_to_text"),
    "infovqa_val": ("infovqa", "infovqa/infovqa_val.yaml", "infovqa_doc_to_text"),
    "chartqa": ("chartqa", "chartqa/chartqa.yaml", "chartqa_doc_to_text"),
    "scienceqa": ("scienceqa", "scienceqa/scienceqa.yaml", "sqa_doc_to_text"),
    "scienceqa_img": ("scienceqa", "scienceqa/scienceqa_img.yaml", "sqa_doc_to_text"),
    "mme": ("mme", "mme/mme.yaml", "mme_doc_to_text"),
}

Q = ["What is shown in the image?", "  Is the cat black? Please answer yes or no.  ", "Which object is red?\nOptions: A: apple, B: sky",
     "What is shown?\nA. cat\nB. dog\nC. bird", "Please select the correct answer from the options above.",
     "Answer with the option's letter from the given choices directly", "Question: what is x?\nA. 1\nB. 2",
     "\x1cspacey\x1f", "ßtraße ΣΑΣ İs 😀", "what TIME is it", "", "ǆungla", " Please answer yes or no."]


def docs_for(task, rng_i):
    out = []
    for i, q in enumerate(Q):
        if task == "mmmu_val":
            opts = [["cat", "dog", "$5"], ["<image 2> left", "right"], [], ["it's", 'say "hi"', "back\\slash\nnew line", "\u00fc\U0001F600"]][i % 4]
            qq = ["<image 1> " + q, q + " <image 3> and <image 1>", q][i % 3]
            out.append({"id": f"validation_Art_{i}", "question": qq, "options": str(opts),
                        "question_type": "multiple-choice" if opts else "open", "answer": "A"})
        elif task.startswith("scienceqa"):
            out.append({"question": q, "hint": ["", "Some context.", "Two\nlines"][i % 3], "choices": [["a", "b"], ["x", "y", "z"], ["ß"]][i % 3],
                        "answer": 0, "has_image": i % 2 == 0})
        else:
            out.append({"question": q})
    return out


def main(nanovlm_dir, out_dir, modules, lmms_dir):
    # nanoVLM's wrapper imports torch, lmms-eval's model API, its own model and data modules: shims (no logic used)
    class _Lmms:
        pass
    for name in ["torch", "torch.distributed", "tqdm", "lmms_eval.utils", "models.vision_language_model", "data.collators",
                 "transformers", "torchvision", "torchvision.transforms", "data.custom_transforms"]:
        _shim(name)
    sys.modules["torch"].distributed = sys.modules["torch.distributed"]
    sys.modules["torch"].Tensor = object
    sys.modules["tqdm"].tqdm = None
    sys.modules["lmms_eval.api.model"] = _shim("lmms_eval.api.model", lmms=_Lmms)
    _shim("lmms_eval.api.instance", Instance=object)
    sys.modules["models.vision_language_model"].VisionLanguageModel = object
    sys.modules["data.collators"].VQACollator = object
    sys.modules["transformers"].AutoTokenizer = object
    for n in ["DynamicResize", "SplitImage", "GlobalAndSplitImages"]:
        setattr(sys.modules["data.custom_transforms"], n, object)
    sys.path.insert(0, nanovlm_dir)
    for pkg in ["models", "data", "eval"]:
        if pkg not in sys.modules:
            m = _shim(pkg)
            m.__path__ = [os.path.join(nanovlm_dir, pkg)]
    processors = importlib.import_module("data.processors")
    wrapper_mod = importlib.import_module("eval.lmms_eval_wrapper")
    config = importlib.import_module("models.config")
    template = config.VLMConfig.lm_chat_template
    assert template == ("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
                        "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"), "chat template changed"

    def chat(content):  # the template above, rendered for one user message with add_generation_prompt=True
        return "<|im_start|>user\n" + content + "<|im_end|>\n" + "<|im_start|>assistant\n"

    wrapper = wrapper_mod.NanoVLMWrapper.__new__(wrapper_mod.NanoVLMWrapper)
    tok = types.SimpleNamespace(image_token="<|image|>", global_image_token="<|global_image|>",
                                **{f"r{i}c{j}": f"<row_{i}_col_{j}>" for i in range(1, 9) for j in range(1, 9)})
    grids = [(1, 1), (2, 2), (1, 3)]
    rows = []
    for task, (key, yml, fn) in TASKS.items():
        cfg = _yaml(os.path.join(lmms_dir, "lmms_eval", "tasks", yml))
        kwargs = cfg["lmms_eval_specific_kwargs"]["default"]
        max_new = cfg.get("generation_kwargs", {}).get("max_new_tokens", 50)  # the wrapper's default
        for i, doc in enumerate(docs_for(task, 0)):
            if key == "scienceqa":
                doc["image"] = True if doc.pop("has_image") else None  # written as true / null
            full = dict(doc)
            # image columns hold stand-ins whose .convert("RGB") returns the column name: doc_to_visual then lists
            # the columns it uses, in its order
            for col in ["image"] + [f"image_{k}" for k in range(1, 8)]:
                full[col] = _Named(col)
            if key == "scienceqa" and doc["image"] is None:
                full["image"] = None
            context = getattr(modules[key], fn)(full, kwargs)
            visual_fn = {"scienceqa": "sqa_doc_to_visual"}.get(key, f"{key}_doc_to_visual")
            image_columns = getattr(modules[key], visual_fn)(full)
            n_images = len(image_columns)
            image_strings = [processors.get_image_string(tok, [grids[(i + k) % 3]], 4) for k in range(n_images)]
            user_text, _ = wrapper.apply_benchmark_formatting(context, "", task)
            prompt = chat("".join(image_strings) + user_text)
            _, prompt = wrapper.apply_benchmark_formatting("", prompt, task)
            rows.append({"task": task, "doc": doc, "image_columns": image_columns, "context": context, "user_text": user_text, "image_strings": image_strings,
                         "prompt": prompt, "max_new_tokens": max_new})
    with open(os.path.join(out_dir, "prompts.jsonl"), "w", encoding="ascii") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=True) + "\n")
    print(f"prompts: {len(rows)} rows")
