using System.Text.Json;
using System.Text.Json.Nodes;
using NanoVlm.Loader.Text;
using NanoVlm.Testing;

namespace NanoVlm.Loader.Tests.Text;

/// <summary>Parity fixtures made by tools/tokenizer_parity (transformers.js and spm_encode).</summary>
internal static class TextFixtures
{
    public sealed record Conversation(ChatTurn[] Texts, ImageGrid[] Grids, int[] InputIds, byte[] LossMask);

    public sealed record Parity(string Name, Dictionary<string, int> SpecialIds, int EosId, string PromptText, int[] PromptIds,
        (string Text, int[] Ids)[] Plain, Conversation[] Conversations);

    private static readonly Dictionary<string, Parity> s_cache = [];
    private static readonly Dictionary<string, VlmTokenizer> s_tokenizers = [];

    public static Parity Load(string name)
    {
        lock (s_cache)
        {
            if (s_cache.TryGetValue(name, out var p)) return p;
            var root = JsonNode.Parse(File.ReadAllText(Fixtures.Path("text", $"parity_{name}.json")))!;
            var special = root["special_token_ids"]?.AsObject().ToDictionary(kv => kv.Key, kv => (int)kv.Value!) ?? [];
            var plain = root["plain"]!.AsArray().Select(n => ((string)n!["text"]!, n["ids"]!.AsArray().Select(x => (int)x!).ToArray())).ToArray();
            var convs = root["conversations"]?.AsArray().Select(n => new Conversation(
                n!["texts"]!.AsArray().Select(t => new ChatTurn((string?)t!["user"], (string?)t["assistant"])).ToArray(),
                n["grids"]!.AsArray().Select(g => new ImageGrid((int)g![0]!, (int)g[1]!)).ToArray(),
                n["input_ids"]!.AsArray().Select(x => (int)x!).ToArray(),
                ((string)n["loss_mask"]!).Select(ch => (byte)(ch - '0')).ToArray())).ToArray() ?? [];
            var prompt = root["generation_prompt_example"];
            p = new Parity(name, special, (int?)root["eos_id"] ?? -1, (string?)prompt?["text"] ?? "",
                prompt?["ids"]?.AsArray().Select(x => (int)x!).ToArray() ?? [], plain, convs);
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
                "gpt2_digits" => FromJson(SmolLM2Style(), "<|endoftext|>"),
                "gpt2_array_merges" => FromJson(ArrayMerges(), "<|endoftext|>"),
                "default" => VlmTokenizer.LoadDefault(),
                _ => throw new ArgumentException(name),
            };
            s_tokenizers[name] = t;
            return t;
        }
    }

    public static VlmTokenizer FromJson(JsonNode json, string eos)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms)) json.WriteTo(w);
        ms.Position = 0;
        return VlmTokenizer.FromTokenizerJson(ms, new VlmTokenizerOptions { EosToken = eos });
    }

    public static JsonNode Gpt2Json() => JsonNode.Parse(File.ReadAllText(Fixtures.Path("text", "gpt2", "tokenizer.json")))!;

    /// <summary>SmolLM2's pre-tokenizer (Digits(individual) + ByteLevel(use_regex)) on GPT-2's vocabulary, as generate.mjs makes it.</summary>
    public static JsonNode SmolLM2Style()
    {
        var j = Gpt2Json();
        j["pre_tokenizer"] = JsonNode.Parse("""{"type":"Sequence","pretokenizers":[{"type":"Digits","individual_digits":true},{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":true}]}""");
        return j;
    }

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
