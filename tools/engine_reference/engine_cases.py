"""The fixture cases: tiny nanoVLM configurations and the token layout of their input batches.

Token ids are invented (no tokenizer is involved): ordinary text ids are drawn from [TEXT_LO, base vocab);
the image token is the first id after the base vocabulary, then <|global_image|>, then <row_i_col_j> at
image + 2 + (i-1)*8 + (j-1) (nanoVLM's r-major order of `vlm_extra_tokens`). ChatML markers and the
`<image: k>` marker (emitted by data/processors.py get_image_string when a sample has several images) are
ordinary ids here; to the model all of these except the image token are plain embedded tokens.
"""
TEXT_LO = 20          # drawn text ids start here (ids below are reserved for the markers below)
IM_START = 1          # <|im_start|>
USER, ASSISTANT, NEWLINE = 14, 15, 13
IMAGE_INDEX_OPEN, IMAGE_INDEX_CLOSE = 16, 17   # "<image:" k ">" -> [16, 4 + k, 17]

_COMMON = dict(vit_dropout=0.0, vit_ln_eps=1e-6, vit_cls_flag=False, lm_max_position_embeddings=8192,
               lm_dropout=0.0, lm_use_tokens=False, lm_tie_weights=True, resize_to_max_side_len=False,
               vlm_load_backbone_weights=False, vlm_checkpoint_path="checkpoints")

CASES = {
    # the tiny config of the shared oracle: GQA with 2 query heads per KV head, pixel shuffle 2
    "a_gqa2_s2": dict(
        seed_attempt=3,   # weights seed 42+1000*3, input seed 1234+1000*3 (see --search-seeds)
        cfg=dict(vit_hidden_dim=64, vit_inter_dim=256, vit_patch_size=16, vit_img_size=64, vit_n_heads=4,
                 vit_n_blocks=2, vit_model_type="fixture/vit-a",
                 lm_hidden_dim=64, lm_inter_dim=160, lm_rms_eps=1e-5, lm_re_base=100000, lm_base_vocab_size=256,
                 extra_token_amount=44, lm_vocab_size=300, lm_n_heads=4, lm_n_kv_heads=2, lm_n_blocks=2,
                 lm_attn_scaling=1.0, lm_max_length=96, lm_model_type="fixture/lm-a", lm_tokenizer="fixture/tok-a",
                 mp_pixel_shuffle_factor=2, max_img_size=192, hf_repo_name="fixture-a"),
        eos=2,
        samples=[dict(images=[(2, 3)], question=5, answer=6, pad=False),
                 dict(images=[(1, 1), (1, 2)], question=4, answer=5, pad=True),
                 dict(images=[], question=6, answer=4, pad=True)]),
    # plain multi-head attention (6 KV heads), pixel shuffle 4 over a 16x16 patch grid, RoPE base 10000
    "b_mha_s4": dict(
        seed_attempt=10,   # weights seed 42+1000*10, input seed 1234+1000*10 (see --search-seeds)
        cfg=dict(vit_hidden_dim=48, vit_inter_dim=96, vit_patch_size=4, vit_img_size=64, vit_n_heads=3,
                 vit_n_blocks=1, vit_model_type="fixture/vit-b",
                 lm_hidden_dim=96, lm_inter_dim=192, lm_rms_eps=1e-5, lm_re_base=10000, lm_base_vocab_size=300,
                 extra_token_amount=20, lm_vocab_size=320, lm_n_heads=6, lm_n_kv_heads=6, lm_n_blocks=2,
                 lm_attn_scaling=1.0, lm_max_length=256, lm_model_type="fixture/lm-b", lm_tokenizer="fixture/tok-b",
                 mp_pixel_shuffle_factor=4, max_img_size=192, hf_repo_name="fixture-b"),
        eos=7,
        samples=[dict(images=[(2, 3)], question=3, answer=4, pad=False),
                 dict(images=[(1, 1), (1, 1)], question=3, answer=3, pad=True)]),
    # GQA with 4 query heads per KV head, 3 LM blocks, RMS eps 1e-6
    "c_gqa4_s2": dict(
        seed_attempt=7,   # weights seed 42+1000*7, input seed 1234+1000*7 (see --search-seeds)
        cfg=dict(vit_hidden_dim=32, vit_inter_dim=64, vit_patch_size=8, vit_img_size=32, vit_n_heads=2,
                 vit_n_blocks=2, vit_model_type="fixture/vit-c",
                 lm_hidden_dim=128, lm_inter_dim=256, lm_rms_eps=1e-6, lm_re_base=100000, lm_base_vocab_size=260,
                 extra_token_amount=20, lm_vocab_size=280, lm_n_heads=8, lm_n_kv_heads=2, lm_n_blocks=3,
                 lm_attn_scaling=1.0, lm_max_length=96, lm_model_type="fixture/lm-c", lm_tokenizer="fixture/tok-c",
                 mp_pixel_shuffle_factor=2, max_img_size=96, hf_repo_name="fixture-c"),
        eos=3,
        samples=[dict(images=[(2, 3)], question=5, answer=6, pad=False),
                 dict(images=[(1, 1), (1, 2)], question=4, answer=5, pad=True),
                 dict(images=[], question=6, answer=4, pad=True)]),
}


def make_config(VLMConfig, case):
    cfg = dict(_COMMON, **CASES[case]["cfg"])
    patches = (cfg["vit_img_size"] // cfg["vit_patch_size"]) ** 2
    cfg["mp_image_token_length"] = patches // cfg["mp_pixel_shuffle_factor"] ** 2
    return VLMConfig(**cfg)


def image_token_id(case):
    return CASES[case]["cfg"]["lm_base_vocab_size"]


def marker_ids(case):
    img = image_token_id(case)
    return {"image_token": img, "global_image_token": img + 1,
            "row_col_token": {f"r{i}c{j}": img + 2 + (i - 1) * 8 + (j - 1) for i in range(1, 3) for j in range(1, 4)}}


def image_string_ids(case, grids, tokens_per_tile):
    """data/processors.py get_image_string, in ids: per image (with an `<image: k>` marker when a sample has
    several), <|global_image|> + image tokens, then for grids other than 1x1 each tile's <row_i_col_j> + tokens."""
    m = marker_ids(case)
    out = []
    for k, (n_h, n_w) in enumerate(grids):
        if len(grids) > 1:
            out += [IMAGE_INDEX_OPEN, 4 + k, IMAGE_INDEX_CLOSE]
        out += [m["global_image_token"]] + [m["image_token"]] * tokens_per_tile
        if (n_h, n_w) == (1, 1):
            continue
        for i in range(n_h):
            for j in range(n_w):
                out += [m["row_col_token"][f"r{i + 1}c{j + 1}"]] + [m["image_token"]] * tokens_per_tile
    return out


def tiles_for(grid):
    """GlobalAndSplitImages: a 1x1 grid is one tile (no global tile), otherwise global + n_h*n_w tiles."""
    return 1 if tuple(grid) == (1, 1) else 1 + grid[0] * grid[1]


def check_shapes(cfg):
    side = cfg.vit_img_size // cfg.vit_patch_size
    assert cfg.vit_img_size % cfg.vit_patch_size == 0 and side % cfg.mp_pixel_shuffle_factor == 0
    assert cfg.lm_n_heads % cfg.lm_n_kv_heads == 0 and cfg.lm_hidden_dim % cfg.lm_n_heads == 0
    assert cfg.vit_hidden_dim % cfg.vit_n_heads == 0
    return side * side, side * side // cfg.mp_pixel_shuffle_factor ** 2
