using BenchmarkDotNet.Attributes;
using NanoVlm.Loader.Text;

namespace NanoVlm.Benchmarks;

/// <summary>
/// Full nanoVLM text preparation (filter, image string, ChatML, ids, loss mask, labels) against the bare base-model
/// encode calls (normalizer, pre-tokenizer, BPE; no atomic-token splitting) on the same text (each message's "role\ncontent" and the "\n"
/// after <c>&lt;|im_end|&gt;</c>, prebuilt strings: the tokenizer work that cannot be avoided).
/// Run: dotnet run -c Release --project bench/NanoVlm.Benchmarks -- --filter *TextPrepare*
/// </summary>
[MemoryDiagnoser]
[InProcess]
[WarmupCount(3)]
[IterationCount(10)]
public class TextPrepareBenchmarks
{
    private const int Samples = 256;
    private VlmTokenizer _tok = null!;
    private SamplePreparer _prep = null!;
    private TextSample[] _samples = null!;
    private ImageGrid[][] _grids = null!;
    private string[][] _bareSegments = null!;
    private string[][] _preparerSegments = null!;

    /// <summary>Which tokenizer: the built-in SentencePiece default, or a byte-level BPE: Qwen2.5's tokenizer.json, or
    /// SmolLM2's (nanoVLM's) pre-tokenizer and ChatML tokens over GPT-2's vocabulary (the parity fixture's overrides).</summary>
    [Params("default", "qwen2_5", "smollm2")]
    public string Tokenizer { get; set; } = "default";

    [GlobalSetup]
    public void Setup()
    {
        _tok = Tokenizer switch
        {
            "default" => VlmTokenizer.LoadDefault(),
            "smollm2" => SmolLm2Like(FindRepoRoot()),
            _ => VlmTokenizer.FromTokenizerJson(Path.Combine(FindRepoRoot(), "tests/fixtures/text/qwen2_5/tokenizer.json"), new VlmTokenizerOptions { EosToken = "<|im_end|>" }),
        };
        _prep = new SamplePreparer(_tok);
        var rng = new Random(42);
        string[] questions = ["How many red circles are in the image?", "What colour is the large square in the top left corner?",
            "Read the text in the image.", "Describe the image in detail.", "What number is written on the sign? Answer with a single number.",
            "Is there a blue triangle to the left of the green star?"];
        string[] answers = ["There are 3 red circles.", "The large square is purple.", "The text says \"OPEN 24 HOURS\".",
            "The image shows a small green star in the top left corner, two blue squares in the middle and a red circle on a white background. The shapes do not overlap.",
            "4096", "No, the blue triangle is to the right of the green star."];
        _samples = new TextSample[Samples];
        _grids = new ImageGrid[Samples][];
        _bareSegments = new string[Samples][];
        _preparerSegments = new string[Samples][];
        for (int i = 0; i < Samples; i++)
        {
            int turns = 1 + rng.Next(3);
            var texts = new ChatTurn[turns];
            var segs = new List<string>();
            for (int t = 0; t < turns; t++)
            {
                texts[t] = new ChatTurn(questions[rng.Next(questions.Length)], answers[rng.Next(answers.Length)]);
                segs.Add("user\n" + texts[t].User.ToString()); segs.Add("\n");
                segs.Add("assistant\n" + texts[t].Assistant.ToString()); segs.Add("\n");
            }
            _samples[i] = new TextSample { Texts = texts, RelevanceRatings = Enumerable.Repeat<long?>(4, turns).ToArray() };
            _grids[i] = rng.Next(4) switch { 0 => [], 1 => [new ImageGrid(1, 1)], 2 => [new ImageGrid(2, 3)], _ => [new ImageGrid(1, 2), new ImageGrid(3, 4)] };
            _bareSegments[i] = [.. segs];
            // The exact strings Prepare hands to the model (ChatML markers, image ids and "\n" come from caches):
            // the first user message's "user\n" is cached when the sample has images.
            var prep = new List<string>();
            for (int t = 0; t < turns; t++)
            {
                prep.Add(t == 0 && _grids[i].Length > 0 ? texts[t].User.ToString() : "user\n" + texts[t].User.ToString());
                prep.Add("assistant\n" + texts[t].Assistant.ToString());
            }
            _preparerSegments[i] = [.. prep];
        }
        // warm the BPE caches for every path; the re-tokenizing baseline must produce the same token count
        int ours = Prepare(), theirs = NanovlmRetokenize();
        BareEncode();
        TokenizerOnly();
        ReportAllocations();
        if (ours != theirs) throw new InvalidOperationException($"Prepare produced {ours} tokens, nanoVLM's method {theirs}.");
    }

    /// <summary>Bare tokenizer calls on the same text.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Samples)]
    public int BareEncode()
    {
        int n = 0;
        foreach (var segs in _bareSegments)
            foreach (var s in segs)
                n += EncodeBare(s);
        return n;
    }

    /// <summary>The base model's encode on exactly the strings <see cref="Prepare"/> hands to it: Prepare's
    /// time and bytes minus these are its own.</summary>
    [Benchmark(OperationsPerInvoke = Samples)]
    public int TokenizerOnly()
    {
        int n = 0;
        foreach (var segs in _preparerSegments)
            foreach (var s in segs)
                n += EncodeBare(s);
        return n;
    }

    private readonly NanoVlm.Loader.Text.Internal.PooledBuffer<int> _bareIds = new(256);

    /// <summary>The base model alone: Microsoft.ML.Tokenizers' <c>EncodeToIds</c> for a SentencePiece .model, this
    /// library's normalizer + pre-tokenizer + BPE for a tokenizer.json.</summary>
    private int EncodeBare(string s)
    {
        if (_tok.BaseTokenizer is { } bare) return bare.EncodeToIds(s).Count;
        _bareIds.Clear();
        _tok.EncodePlain(s, _bareIds);
        return _bareIds.Count;
    }

    /// <summary>Exact bytes per sample on this thread, printed to the log as <c>// allocated</c>.</summary>
    private void ReportAllocations()
    {
        long a = GC.GetAllocatedBytesForCurrentThread();
        Prepare();
        long b = GC.GetAllocatedBytesForCurrentThread();
        TokenizerOnly();
        long c = GC.GetAllocatedBytesForCurrentThread();
        Console.WriteLine($"// allocated per sample ({Tokenizer}, this thread): Prepare {(double)(b - a) / Samples:F1} B, " +
            $"model EncodeToIds on the same strings {(double)(c - b) / Samples:F1} B, Prepare's own {(double)(b - a - (c - b)) / Samples:F1} B");
    }

    /// <summary>Full sample preparation.</summary>
    [Benchmark(OperationsPerInvoke = Samples)]
    public int Prepare()
    {
        int n = 0;
        for (int i = 0; i < _samples.Length; i++) n += _prep.Prepare(_samples[i], _grids[i]).Length;
        return n;
    }

    /// <summary>
    /// nanoVLM's method (<c>VQADataset._prepare_inputs_and_loss_mask</c>): build the messages with the image string
    /// prepended to the first user message, tokenize the templated conversation, then tokenize every message again
    /// on its own to find the assistant spans; new lists for ids, mask and labels per sample. Same tokenizer, same
    /// template (<see cref="ChatTemplate.Encode"/>), no quality filter (all ratings pass in this data set).
    /// </summary>
    [Benchmark(OperationsPerInvoke = Samples)]
    public int NanovlmRetokenize()
    {
        int n = 0;
        var template = _tok.ChatTemplate;
        int prefix = template.AssistantPrefixLength;
        var one = new ChatMessage[1];
        for (int i = 0; i < _samples.Length; i++)
        {
            var texts = _samples[i].Texts!;
            var messages = new List<ChatMessage>(texts.Count * 2);
            foreach (var turn in texts)
            {
                messages.Add(new ChatMessage("user", turn.User.ToString().Replace(ImageTokenString.ImageToken, "", StringComparison.Ordinal)));
                messages.Add(new ChatMessage("assistant", turn.Assistant.ToString().Replace(ImageTokenString.ImageToken, "", StringComparison.Ordinal)));
            }
            if (_grids[i].Length > 0)
                messages[0] = messages[0] with { Content = ImageTokenString.Build(_grids[i]) + messages[0].Content };
            int[] ids = template.Encode(messages);
            var mask = new int[ids.Length];
            int cursor = 0;
            foreach (var m in messages)
            {
                one[0] = m;
                int segLen = template.Encode(one).Length;
                if (m.Role == "assistant")
                    for (int k = cursor + prefix; k < Math.Min(cursor + segLen, mask.Length); k++) mask[k] = 1;
                cursor += segLen;
            }
            var labels = new int[ids.Length];
            for (int k = 0; k < ids.Length - 1; k++) labels[k] = mask[k + 1] != 0 ? ids[k + 1] : -100;
            labels[^1] = -100;
            n += ids.Length;
        }
        return n;
    }

    /// <summary>GPT-2's tokenizer.json with parity_smollm2.json's overrides (as the loader tests' TextFixtures.DerivedJson).</summary>
    private static VlmTokenizer SmolLm2Like(string root)
    {
        var o = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(root, "tests/fixtures/text/parity_smollm2.json")))!["overrides"]!;
        var j = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(root, "tests/fixtures/text/gpt2/tokenizer.json")))!;
        foreach (var key in (string[])["added_tokens", "normalizer", "pre_tokenizer", "post_processor", "decoder"])
            j[key] = o[key]?.DeepClone();
        j["model"]!["ignore_merges"] = (bool)o["ignore_merges"]!;
        var vocab = j["model"]!["vocab"]!.AsObject();
        foreach (var (token, id) in o["vocab_additions"]!.AsObject()) vocab[token] = id!.DeepClone();
        using var ms = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(j.ToJsonString()));
        return VlmTokenizer.FromTokenizerJson(ms, new VlmTokenizerOptions { EosToken = "<|im_end|>" });
    }

    private static string FindRepoRoot()
    {
        var d = new DirectoryInfo(AppContext.BaseDirectory);
        while (d is not null && !File.Exists(Path.Combine(d.FullName, "NanoVlm.sln"))) d = d.Parent;
        return d?.FullName ?? throw new DirectoryNotFoundException("NanoVlm.sln not found above " + AppContext.BaseDirectory);
    }
}
