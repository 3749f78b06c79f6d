using System.Text.Json;
using System.Text.Json.Nodes;
using NanoVlm.Loader.Text;
using NanoVlm.Testing;

namespace NanoVlm.Loader.Tests.Text;

/// <summary>Parity fixtures made by tools/tokenizer_parity (HF's Rust tokenizers through its npm binding, and
/// spm_encode for the built-in default).</summary>
internal static class TextFixtures
{
    public sealed record Conversation(ChatTurn[] Texts, ImageGrid[] Grids, int[] InputIds, byte[] LossMask);

    public sealed record PlainCase(string Text, int[] Ids, int[] IdsWithSpecialTokens, string? Decoded);

    public sealed record Parity(string Name, Dictionary<string, int> SpecialIds, int EosId, string EosToken, int VocabSize,
        string PromptText, int[] PromptIds, PlainCase[] Plain, Conversation[] Conversations, JsonObject? Overrides, string? DerivedFrom);

    private static readonly Dictionary<string, Parity> s_cache = [];
    private static readonly Dictionary<string, VlmTokenizer> s_tokenizers = [];

    /// <summary>Every tokenizer family with a Rust-made parity fixture.</summary>
    public static readonly string[] Families = ["smollm2", "qwen2_5", "qwen3", "gpt2", "llama3", "deepseek_v3", "gpt4o", "gemma3", "llama2"];

    public static Parity Load(string name)
    {
        lock (s_cache)
        {
            if (s_cache.TryGetValue(name, out var p)) return p;
            var root = JsonNode.Parse(File.ReadAllText(Fixtures.Path("text", $"parity_{name}.json")))!;
            var special = root["special_token_ids"]?.AsObject().ToDictionary(kv => kv.Key, kv => (int)kv.Value!) ?? [];
            static int[] Ints(JsonNode? n) => n?.AsArray().Select(x => (int)x!).ToArray() ?? [];
            var plain = root["plain"]!.AsArray().Select(n => new PlainCase((string)n!["text"]!, Ints(n["ids"]),
                Ints(n["ids_with_special_tokens"]), (string?)n["decoded"])).ToArray();
            var convs = root["conversations"]?.AsArray().Select(n => new Conversation(
                n!["texts"]!.AsArray().Select(t => new ChatTurn((string?)t!["user"], (string?)t["assistant"])).ToArray(),
                n["grids"]!.AsArray().Select(g => new ImageGrid((int)g![0]!, (int)g[1]!)).ToArray(),
                Ints(n["input_ids"]),
                ((string)n["loss_mask"]!).Select(ch => (byte)(ch - '0')).ToArray())).ToArray() ?? [];
            var prompt = root["generation_prompt_example"];
            p = new Parity(name, special, (int?)root["eos_id"] ?? -1, (string?)root["eos_token"] ?? "", (int?)root["vocab_size"] ?? -1,
                (string?)prompt?["text"] ?? "", Ints(prompt?["ids"]), plain, convs, root["overrides"]?.AsObject(), (string?)root["derived_from"]);
            s_cache[name] = p;
            return p;
        }
    }

    /// <summary>The tokenizer a parity fixture was made with.</summary>
    public static VlmTokenizer Tokenizer(string name)
    {
        lock (s_tokenizers)
        {
            if (s_tokenizers.TryGetValue(name, out var t)) return t;
            t = name switch
            {
                "qwen2_5" => VlmTokenizer.FromTokenizerJson(Fixtures.Path("text", "qwen2_5", "tokenizer.json"), new VlmTokenizerOptions { EosToken = "<|im_end|>" }),
                "gpt2" => VlmTokenizer.FromTokenizerJson(Fixtures.Path("text", "gpt2", "tokenizer.json"), new VlmTokenizerOptions { EosToken = "<|endoftext|>" }),
                "gemma3" or "llama2" => VlmTokenizer.FromTokenizerJson(Fixtures.Path("text", "spm_bpe", name + ".json"), new VlmTokenizerOptions { EosToken = Load(name).EosToken }),
                "gpt2_array_merges" => FromJson(ArrayMerges(), "<|endoftext|>"),
                "default" => VlmTokenizer.LoadDefault(),
                _ => FromJson(DerivedJson(name), Load(name).EosToken),
            };
            s_tokenizers[name] = t;
            return t;
        }
    }

    /// <summary>A family's tokenizer.json: its base file with the fixture's recorded overrides applied (the same
    /// edits generate.mjs made before encoding with the Rust library).</summary>
    public static JsonNode DerivedJson(string name)
    {
        var p = Load(name);
        if (p.Overrides is null || p.DerivedFrom is null) throw new ArgumentException($"{name} is not a derived fixture");
        var j = JsonNode.Parse(File.ReadAllText(Fixtures.Path("text", p.DerivedFrom)))!;
        var o = p.Overrides;
        foreach (var key in (string[])["added_tokens", "normalizer", "pre_tokenizer", "post_processor", "decoder"])
            j[key] = o[key]?.DeepClone();
        j["model"]!["ignore_merges"] = (bool)o["ignore_merges"]!;
        var vocab = j["model"]!["vocab"]!.AsObject();
        foreach (var (token, id) in o["vocab_additions"]!.AsObject()) vocab[token] = id!.DeepClone();
        return j;
    }

    public static VlmTokenizer FromJson(JsonNode json, string eos)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms)) json.WriteTo(w);
        ms.Position = 0;
        return VlmTokenizer.FromTokenizerJson(ms, new VlmTokenizerOptions { EosToken = eos });
    }

    public static JsonNode Gpt2Json() => JsonNode.Parse(File.ReadAllText(Fixtures.Path("text", "gpt2", "tokenizer.json")))!;

    /// <summary>GPT-2 with merges in the newer [a, b] array form.</summary>
    public static JsonNode ArrayMerges()
    {
        var j = Gpt2Json();
        var merges = j["model"]!["merges"]!.AsArray();
        var arr = new JsonArray();
        foreach (var m in merges)
        {
            var parts = ((string)m!).Split(' ');
            arr.Add(new JsonArray(parts[0], parts[1]));
        }
        j["model"]!["merges"] = arr;
        return j;
    }
}
