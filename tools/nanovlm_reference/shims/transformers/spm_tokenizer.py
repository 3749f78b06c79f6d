# NanoVlm.NET's own code, not a port: a stand-in for transformers.AutoTokenizer (which Debian does not package)
# around our built-in SentencePiece tokenizer (src/Loader/Assets/default_tokenizer.model, made by
# tools/make_default_tokenizer.sh). It offers exactly what nanoVLM's data code calls on the tokenizer:
#   AutoTokenizer.from_pretrained(name, use_fast=, extra_special_tokens=, chat_template=)   (data/processors.py)
#   tokenizer.pad_token = tokenizer.eos_token; .pad_token_id                                 (processors, collators)
#   tokenizer.image_token, .global_image_token, .r{i}c{j}  (the extra special tokens)         (datasets, processors)
#   tokenizer.apply_chat_template(messages, tokenize=False|True, add_special_tokens=False, return_dict=)
#   tokenizer.encode(text)                                                                   (datasets._get_prefix_len)
#   tokenizer(prompts, return_tensors="pt", padding="longest", padding_side="left", ...)     (eval/lmms_eval_wrapper.py)
#   tokenizer.batch_decode(ids, skip_special_tokens=True)                                     (eval/lmms_eval_wrapper.py)
# The ChatML markers and the 66 extra tokens are user-defined pieces of the SentencePiece model, so they are
# encoded atomically wherever they occur, as HF does for special tokens. No BOS/EOS is ever added (SmolLM2's HF
# tokenizer adds none either). EOS = <|im_end|> (as SmolLM2-Instruct's, and as VlmTokenizer.LoadDefault()).
import sentencepiece as spm

# models/config.py VLMConfig.lm_chat_template: the only template this stand-in renders (without jinja2).
CHATML_TEMPLATE = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"


class SentencePieceChatTokenizer:
    def __init__(self, model_file, extra_special_tokens=None, chat_template=None, eos_token="<|im_end|>"):
        if chat_template is not None and chat_template != CHATML_TEMPLATE:
            raise ValueError("only nanoVLM's default ChatML template (VLMConfig.lm_chat_template) is supported")
        self.model_file = model_file
        self.sp = spm.SentencePieceProcessor(model_file=model_file)
        self.extra_special_tokens = dict(extra_special_tokens or {})
        for attr, tok in self.extra_special_tokens.items():
            if self.sp.piece_to_id(tok) == self.sp.unk_id():
                raise ValueError(f"extra special token {tok!r} is not a piece of {model_file}")
            setattr(self, attr, tok)  # HF: tokenizer.image_token, tokenizer.r1c1, ...
        self.eos_token = eos_token
        self.pad_token = None

    # HF exposes token ids as properties of the token strings.
    @property
    def eos_token_id(self):
        return self.sp.piece_to_id(self.eos_token)

    @property
    def pad_token_id(self):
        return None if self.pad_token is None else self.sp.piece_to_id(self.pad_token)

    def __getattr__(self, name):
        # HF: each extra special token's id as <attr>_id (tokenizer.image_token_id, read by the model code).
        extra = self.__dict__.get("extra_special_tokens", {})
        if name.endswith("_id") and name[:-3] in extra:
            return self.sp.piece_to_id(extra[name[:-3]])
        raise AttributeError(name)

    def __len__(self):
        return self.sp.get_piece_size()

    def encode(self, text, add_special_tokens=True):
        # HF encode adds the tokenizer's BOS/EOS post-processing; SmolLM2's has none, nor has this one.
        return self.sp.encode(text, out_type=int)

    def decode(self, ids):
        return self.sp.decode(list(ids))

    @property
    def all_special_ids(self):
        # HF: bos/eos/unk/pad plus the additional special tokens; here the control pieces (<s>, </s>), <unk>, the
        # ChatML markers and the extra tokens (all user-defined pieces of the model), and EOS.
        ids = {self.sp.unk_id(), self.eos_token_id}
        ids.update(i for i in range(self.sp.get_piece_size()) if self.sp.is_control(i))
        ids.update(self.sp.piece_to_id(t) for t in ("<|im_start|>", "<|im_end|>"))
        ids.update(self.sp.piece_to_id(t) for t in self.extra_special_tokens.values())
        return sorted(ids)

    def batch_decode(self, sequences, skip_special_tokens=False):
        skip = set(self.all_special_ids) if skip_special_tokens else set()
        return [self.sp.decode([int(i) for i in row if int(i) not in skip]) for row in sequences]

    def __call__(self, texts, return_tensors=None, padding="longest", padding_side="right", truncation=False,
                 max_length=None):
        # HF's batch call: each text encoded (no BOS/EOS here), cut to max_length when truncating, padded to the
        # longest with pad_token_id on the requested side, attention_mask 0 on the pads.
        import torch
        rows = [self.encode(t) for t in texts]
        if truncation and max_length is not None:
            rows = [r[:max_length] for r in rows]
        width = max(len(r) for r in rows)
        pad = self.pad_token_id
        ids, mask = [], []
        for r in rows:
            fill = width - len(r)
            ids.append([pad] * fill + r if padding_side == "left" else r + [pad] * fill)
            mask.append([0] * fill + [1] * len(r) if padding_side == "left" else [1] * len(r) + [0] * fill)
        if return_tensors != "pt":
            return {"input_ids": ids, "attention_mask": mask}
        return {"input_ids": torch.tensor(ids, dtype=torch.long), "attention_mask": torch.tensor(mask, dtype=torch.long)}

    def apply_chat_template(self, conversation, tokenize=True, add_special_tokens=False, return_dict=False,
                            add_generation_prompt=False, **kwargs):
        if conversation and isinstance(conversation[0], (list, tuple)):  # HF: a batch of conversations -> a list
            return [self.apply_chat_template(c, tokenize=tokenize, add_special_tokens=add_special_tokens, return_dict=return_dict,
                                             add_generation_prompt=add_generation_prompt) for c in conversation]
        rendered = "".join("<|im_start|>" + m["role"] + "\n" + m["content"] + "<|im_end|>" + "\n" for m in conversation)
        if add_generation_prompt:
            rendered += "<|im_start|>assistant\n"
        if not tokenize:
            return rendered
        ids = self.encode(rendered, add_special_tokens=add_special_tokens)
        if return_dict:
            return {"input_ids": ids, "attention_mask": [1] * len(ids)}
        return ids

    # Pickled into DataLoader workers under the spawn start method; SentencePieceProcessor is rebuilt there.
    def __getstate__(self):
        state = dict(self.__dict__)
        del state["sp"]
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.sp = spm.SentencePieceProcessor(model_file=self.model_file)


class AutoTokenizer:
    @staticmethod
    def from_pretrained(name, use_fast=True, extra_special_tokens=None, chat_template=None):
        # `name` is the path of a SentencePiece .model file here (nanoVLM passes a Hub id).
        return SentencePieceChatTokenizer(name, extra_special_tokens=extra_special_tokens, chat_template=chat_template)
