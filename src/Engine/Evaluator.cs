using System.Diagnostics;
using NanoVlm.Evaluation;
using NanoVlm.Loader.Text;
using static TorchSharp.torch;

namespace NanoVlm.Engine;

/// <summary>One chunk of an <see cref="Evaluator"/> run done.</summary>
/// <param name="Task">The task.</param>
/// <param name="Chunk">1-based chunk number.</param>
/// <param name="Chunks">Number of chunks.</param>
/// <param name="Done">Documents generated so far.</param>
/// <param name="Total">Documents in the run.</param>
/// <param name="Elapsed">Time since the run started.</param>
public sealed record EvalChunkProgress(string Task, int Chunk, int Chunks, int Done, int Total, TimeSpan Elapsed);

/// <summary>A question of one's own data for <see cref="Evaluator.GenerateAnswers"/>.</summary>
/// <param name="Question">The question text.</param>
/// <param name="Images">(bytes, name) of each image, in order; the name appears in errors.</param>
public sealed record EvalQuestion(string Question, IReadOnlyList<(byte[] Bytes, string Name)> Images);

/// <summary>What <see cref="Evaluator.Run"/> produced for one task.</summary>
/// <param name="Task">The task.</param>
/// <param name="Generations">The decoded answers, in document order.</param>
/// <param name="Metrics">The task's metrics (<see cref="EvalTask.Score"/>).</param>
/// <param name="Elapsed">Time spent generating.</param>
public sealed record EvalTaskOutcome(string Task, IReadOnlyList<string> Generations, IReadOnlyDictionary<string, double> Metrics, TimeSpan Elapsed);

/// <summary>
/// Runs an lmms-eval task over documents with a model as nanoVLM's lmms-eval wrapper does
/// (<c>NanoVLMWrapper.generate_until</c>, eval/lmms_eval_wrapper.py): requests sorted as lmms-eval's <c>Collator</c>
/// sorts them (<see cref="CollatorOrder"/>), generated greedily in chunks with left padding for the task's
/// <see cref="EvalTask.MaxNewTokens"/>, decoded with special tokens skipped, returned in document order, then scored.
/// </summary>
/// <remarks>Each task is its own run; lmms-eval hands the wrapper the requests of all tasks with equal generation
/// arguments at once, so its chunks can mix tasks. Chunk composition changes only the padding, which changes the
/// numbers within float rounding. Prompts are not truncated (the wrapper truncates at 8192 tokens).</remarks>
public sealed class Evaluator
{
    private readonly VisionLanguageModel _model;
    private readonly VlmConfig _config;
    private readonly VlmTokenizer _tokenizer;
    private readonly PromptEncoder _encoder;

    /// <summary>An evaluator for a model (not owned) with its configuration and tokenizer.</summary>
    /// <param name="model">The model; inputs go to its device.</param>
    /// <param name="config">Its configuration (image path and image token length).</param>
    /// <param name="tokenizer">Its tokenizer.</param>
    public Evaluator(VisionLanguageModel model, VlmConfig config, VlmTokenizer tokenizer)
    {
        _model = model ?? throw new ArgumentNullException(nameof(model));
        _config = config ?? throw new ArgumentNullException(nameof(config));
        _tokenizer = tokenizer ?? throw new ArgumentNullException(nameof(tokenizer));
        _encoder = new PromptEncoder(config, tokenizer);
    }

    /// <summary>
    /// The prompt of one document: each image of <see cref="EvalTask.ImageColumns"/> through the image path, its own
    /// image string (<see cref="ImageTokenString.Build"/> over that image's grid alone, so no <c>&lt;image: k&gt;</c>
    /// markers), <see cref="EvalTask.Prompt"/>, tokenized with the tokenizer's special tokens as the wrapper's
    /// <c>tokenizer(prompts)</c> call adds them.
    /// </summary>
    /// <param name="task">The task.</param>
    /// <param name="doc">The document.</param>
    /// <returns>Ids and tiles.</returns>
    /// <exception cref="InvalidDataException">A column is missing or malformed (names the document's source and column).</exception>
    public EncodedPrompt EncodePrompt(EvalTask task, EvalDocument doc)
    {
        var (text, encoded) = BuildPrompt(task, doc);
        return new EncodedPrompt(_tokenizer.EncodeToIds(text, addSpecialTokens: true), encoded.Tiles, encoded.TileCount);
    }

    /// <summary>The prompt text of <see cref="EncodePrompt"/> (image placeholder strings included), e.g. for a sample log.</summary>
    /// <param name="task">The task.</param>
    /// <param name="doc">The document.</param>
    /// <exception cref="InvalidDataException">A column is missing or malformed.</exception>
    public string PromptText(EvalTask task, EvalDocument doc)
    {
        ArgumentNullException.ThrowIfNull(task);
        ArgumentNullException.ThrowIfNull(doc);
        return BuildPrompt(task, doc).Text;
    }

    /// <summary>The prompt text <see cref="GenerateAnswers"/> feeds the model for a question of one's own data.</summary>
    /// <param name="name">The name given to <see cref="GenerateAnswers"/>.</param>
    /// <param name="question">The question.</param>
    public string PromptText(string name, EvalQuestion question)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(question);
        return BuildPrompt(name, question).Text;
    }

    private (string Text, EncodedImages Images) BuildPrompt(EvalTask task, EvalDocument doc)
    {
        ArgumentNullException.ThrowIfNull(task);
        ArgumentNullException.ThrowIfNull(doc);
        var images = task.ImageColumns(doc).Select(c => (EvalDatasets.ImageBytes(doc, c), $"{doc.Source} column '{c}'")).ToList();
        var encoded = _encoder.EncodeImages(images);
        return (task.Prompt(doc, ImageStrings(encoded)), encoded);
    }

    private (string Text, EncodedImages Images) BuildPrompt(string name, EvalQuestion question)
    {
        var encoded = _encoder.EncodeImages(question.Images);
        return (NanoVlmPrompt.Build(name, question.Question, ImageStrings(encoded)), encoded);
    }

    // One string per image, each over that image's grid alone (the wrapper calls get_image_string per image).
    private List<string> ImageStrings(EncodedImages encoded) =>
        encoded.Grids.Select(g => ImageTokenString.Build([g], _config.MpImageTokenLength)).ToList();

    /// <summary>
    /// lmms-eval's <c>Collator</c> order for the wrapper's key <c>(-len(tokenizer.encode(context)), context)</c>:
    /// longest context first, ties by the context string in code point order, then by position (Python's sort is
    /// stable). The context is the task's <see cref="EvalTask.DocToText"/>, not the formatted prompt.
    /// </summary>
    /// <param name="contexts">The contexts in document order.</param>
    /// <param name="tokenCount">Token count of a context (with special tokens, as <c>tokenizer.encode</c>).</param>
    /// <returns>Document indexes in generation order.</returns>
    public static int[] CollatorOrder(IReadOnlyList<string> contexts, Func<string, int> tokenCount)
    {
        ArgumentNullException.ThrowIfNull(contexts);
        ArgumentNullException.ThrowIfNull(tokenCount);
        var lengths = contexts.Select(tokenCount).ToArray();
        return [.. Enumerable.Range(0, contexts.Count).OrderBy(i => -lengths[i]).ThenBy(i => contexts[i], CodePointComparer.Instance)];
    }

    /// <summary>Generates the answers of <paramref name="docs"/> (see the class summary), in document order.</summary>
    /// <param name="task">The task.</param>
    /// <param name="docs">The documents.</param>
    /// <param name="batchSize">Requests per chunk (nanoVLM's wrapper: the evaluation batch size).</param>
    /// <param name="progress">Called after each chunk; may be null.</param>
    /// <param name="cancellationToken">Checked between chunks.</param>
    /// <returns>Decoded answers (not stripped; <see cref="EvalTask.Score"/> strips them).</returns>
    public IReadOnlyList<string> Generate(EvalTask task, IReadOnlyList<EvalDocument> docs, int batchSize,
        Action<EvalChunkProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(task);
        ArgumentNullException.ThrowIfNull(docs);
        return GenerateInOrder(task.Name, docs.Select(task.DocToText).ToList(), i => EncodePrompt(task, docs[i]),
            task.MaxNewTokens, batchSize, progress, cancellationToken);
    }

    /// <summary>
    /// Answers questions of one's own data the same way (Collator order, left-padded greedy chunks, special tokens
    /// skipped, question order kept): each prompt is the images' strings and the question in nanoVLM's chat template,
    /// without any benchmark's formatting.
    /// </summary>
    /// <param name="name">A name for progress reports.</param>
    /// <param name="questions">The questions with their images.</param>
    /// <param name="maxNewTokens">Tokens to generate per answer.</param>
    /// <param name="batchSize">Requests per chunk.</param>
    /// <param name="progress">Called after each chunk; may be null.</param>
    /// <param name="cancellationToken">Checked between chunks.</param>
    /// <returns>Decoded answers in question order.</returns>
    public IReadOnlyList<string> GenerateAnswers(string name, IReadOnlyList<EvalQuestion> questions, int maxNewTokens, int batchSize,
        Action<EvalChunkProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(questions);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxNewTokens, 0);
        return GenerateInOrder(name, questions.Select(q => q.Question).ToList(), i =>
        {
            var (text, encoded) = BuildPrompt(name, questions[i]);
            return new EncodedPrompt(_tokenizer.EncodeToIds(text, addSpecialTokens: true), encoded.Tiles, encoded.TileCount);
        }, maxNewTokens, batchSize, progress, cancellationToken);
    }

    private string[] GenerateInOrder(string name, IReadOnlyList<string> contexts, Func<int, EncodedPrompt> encode, int maxNewTokens,
        int batchSize, Action<EvalChunkProgress>? progress, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        var order = CollatorOrder(contexts, c => _tokenizer.EncodeToIds(c, addSpecialTokens: true).Length);
        var answers = new string[contexts.Count];
        int chunks = (contexts.Count + batchSize - 1) / batchSize;
        var options = new GenerationOptions { Greedy = true, MaxNewTokens = maxNewTokens, EosTokenId = _tokenizer.EosTokenId };
        var clock = Stopwatch.StartNew();
        for (int c = 0; c < chunks; c++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var members = order.Skip(c * batchSize).Take(batchSize).ToArray();
            var prompts = members.Select(encode).ToList();
            var (ids, mask, tiles) = _encoder.Batch(prompts);
            using (ids) using (mask) using (tiles)
            {
                using var onDevice = ids.to(_model.Device);
                using var tilesOnDevice = tiles?.to(_model.Device);
                using var maskOnDevice = mask?.to(_model.Device);
                using var output = _model.Generate(onDevice, tilesOnDevice, maskOnDevice, options);
                var flat = output.data<long>().ToArray();
                int n = (int)output.shape[1];
                for (int b = 0; b < members.Length; b++)
                {
                    int[] row = [.. flat.Skip(b * n).Take(n).Select(v => (int)v)];
                    answers[members[b]] = CheckpointTokenizer.DecodeAnswer(_tokenizer, row);
                }
            }
            progress?.Invoke(new EvalChunkProgress(name, c + 1, chunks, Math.Min((c + 1) * batchSize, contexts.Count), contexts.Count, clock.Elapsed));
        }
        return answers;
    }

    /// <summary><see cref="Generate"/>, then <see cref="EvalTask.Score"/> over the answers.</summary>
    /// <param name="task">The task.</param>
    /// <param name="docs">The documents (at least one).</param>
    /// <param name="batchSize">Requests per chunk.</param>
    /// <param name="progress">Called after each chunk; may be null.</param>
    /// <param name="cancellationToken">Checked between chunks.</param>
    /// <returns>Answers and metrics.</returns>
    /// <exception cref="ArgumentException">No documents.</exception>
    public EvalTaskOutcome Run(EvalTask task, IReadOnlyList<EvalDocument> docs, int batchSize,
        Action<EvalChunkProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(task);
        ArgumentNullException.ThrowIfNull(docs);
        if (docs.Count == 0) throw new ArgumentException($"task '{task.Name}': no documents to evaluate", nameof(docs));
        var clock = Stopwatch.StartNew();
        var answers = Generate(task, docs, batchSize, progress, cancellationToken);
        var elapsed = clock.Elapsed;
        return new EvalTaskOutcome(task.Name, answers, task.Score(docs, answers), elapsed);
    }

    // Python compares str by code point; .NET's ordinal comparison is by UTF-16 unit, which orders supplementary
    // characters before U+E000..U+FFFF.
    private sealed class CodePointComparer : IComparer<string>
    {
        public static readonly CodePointComparer Instance = new();

        public int Compare(string? x, string? y)
        {
            if (ReferenceEquals(x, y)) return 0;
            if (x is null) return -1;
            if (y is null) return 1;
            var a = x.EnumerateRunes();
            var b = y.EnumerateRunes();
            while (true)
            {
                bool hasA = a.MoveNext(), hasB = b.MoveNext();
                if (!hasA || !hasB) return hasA.CompareTo(hasB);
                int d = a.Current.Value.CompareTo(b.Current.Value);
                if (d != 0) return d;
            }
        }
    }
}
