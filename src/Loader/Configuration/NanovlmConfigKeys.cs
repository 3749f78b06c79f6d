namespace NanoVlm.Loader.Configuration;

/// <summary>
/// Every field of nanoVLM's <c>VLMConfig</c> and <c>TrainConfig</c> (nanoVLM <c>models/config.py</c> at the pinned
/// commit): the keys a configuration file may hold. The data path reads some of them; training, generation and
/// evaluation read the others, so all are accepted by every command.
/// </summary>
internal static class NanovlmConfigKeys
{
    public static readonly string[] VlmConfig =
    [
        "vit_hidden_dim", "vit_inter_dim", "vit_patch_size", "vit_img_size", "vit_n_heads", "vit_dropout", "vit_n_blocks",
        "vit_ln_eps", "vit_cls_flag", "vit_model_type",
        "lm_hidden_dim", "lm_inter_dim", "lm_rms_eps", "lm_re_base", "lm_max_position_embeddings", "lm_base_vocab_size",
        "extra_token_amount", "lm_vocab_size", "lm_n_heads", "lm_n_kv_heads", "lm_dropout", "lm_n_blocks", "lm_attn_scaling",
        "lm_max_length", "lm_use_tokens", "lm_tie_weights", "lm_model_type", "lm_tokenizer", "lm_chat_template",
        "mp_pixel_shuffle_factor", "mp_image_token_length",
        "max_img_size", "resize_to_max_side_len",
        "vlm_extra_tokens", "vlm_load_backbone_weights", "vlm_checkpoint_path", "hf_repo_name",
    ];

    public static readonly string[] TrainConfig =
    [
        "lr_mp", "lr_vision_backbone", "lr_language_backbone", "val_size", "batch_size", "gradient_accumulation_steps",
        "max_grad_norm", "eval_in_epochs", "eval_interval", "stats_log_interval", "max_training_steps",
        "max_images_per_example", "max_images_per_knapsack", "max_sample_length", "compile", "resume_from_vlm_checkpoint",
        "train_dataset_path", "train_dataset_name", "stream_dataset",
        "relevance_min_rating", "image_correspondence_min_rating", "visual_dependency_min_rating", "formatting_min_rating",
        "wandb_entity", "log_wandb", "use_lmms_eval", "lmms_eval_tasks", "lmms_eval_limit", "lmms_eval_batch_size",
    ];

    /// <summary>Training keys of NanoVlm.NET that nanoVLM does not have (LoRA, freezing a part by name, evaluation on the
    /// training set, a data mixture, the training precision); nanoVLM's own code never reads them.</summary>
    public static readonly string[] FineTuning =
    [
        "lora_rank", "lora_alpha", "lora_dropout", "lora_target_modules",
        "freeze_vision_backbone", "freeze_mp", "freeze_language_backbone", "train_eval_batches", "train_mixture",
        "precision",
    ];

    public static readonly HashSet<string> Nanovlm = [.. VlmConfig, .. TrainConfig];

    public static readonly HashSet<string> All = [.. VlmConfig, .. TrainConfig, .. FineTuning];

    /// <summary>The known key nearest to <paramref name="key"/> by edit distance (ties: the first in field order).</summary>
    public static string Closest(string key)
    {
        string best = VlmConfig[0];
        var bestDistance = int.MaxValue;
        foreach (var k in VlmConfig.Concat(TrainConfig).Concat(FineTuning))
        {
            var d = EditDistance(key, k);
            if (d < bestDistance) (best, bestDistance) = (k, d);
        }
        return best;
    }

    private static int EditDistance(string a, string b)
    {
        var prev = new int[b.Length + 1];
        var cur = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++) prev[j] = j;
        for (var i = 1; i <= a.Length; i++)
        {
            cur[0] = i;
            for (var j = 1; j <= b.Length; j++)
                cur[j] = Math.Min(Math.Min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            (prev, cur) = (cur, prev);
        }
        return prev[b.Length];
    }
}
