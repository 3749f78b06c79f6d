using BenchmarkDotNet.Attributes;
using Microsoft.ML.Tokenizers;
using NanoVlm.Loader.Text;
using NanoVlm.Loader.Text.Internal;

namespace NanoVlm.Benchmarks;

/// <summary>
/// The built-in default SentencePiece model on nanoVLM-style message text: Microsoft.ML.Tokenizers'
/// SentencePieceTokenizer (the previous encoder) against this library's encoder, same strings, same process (so the
/// ratio holds on a busy machine). Run: dotnet run -c Release --project bench/NanoVlm.Benchmarks -- --filter *SentencePiece*
/// </summary>
[MemoryDiagnoser]
[InProcess]
[WarmupCount(3)]
[IterationCount(10)]
public class SentencePieceBenchmarks
{
    private VlmTokenizer _tok = null!;
    private SentencePieceTokenizer _ml = null!;
    private string[] _texts = null!;
    private PooledBuffer<int> _sink = null!;

    [GlobalSetup]
    public void Setup()
    {
        _tok = VlmTokenizer.LoadDefault();
        _ml = (SentencePieceTokenizer)_tok.BaseTokenizer!;
        _texts =
        [
            "user\nHow many red circles are in the image?", "assistant\nThere are 3 red circles.",
            "user\nWhat colour is the large square in the top left corner?", "assistant\nThe large square is purple.",
            "user\nRead the text in the image.", "assistant\nThe text says \"OPEN 24 HOURS\".",
            "assistant\nThe image shows a small green star in the top left corner, two blue squares in the middle and a red circle on a white background. The shapes do not overlap.",
            "user\nWhat number is written on the sign? Answer with a single number.", "assistant\n4096",
            "user\nIs there a blue triangle to the left of the green star?", "assistant\nNo, the blue triangle is to the right of the green star.",
        ];
        _sink = new PooledBuffer<int>(1024);
        if (MicrosoftMl() != Own()) throw new InvalidOperationException("the two encoders disagree on the token count");
    }

    /// <summary>Microsoft.ML.Tokenizers' SentencePieceTokenizer.EncodeToIds.</summary>
    [Benchmark(Baseline = true)]
    public int MicrosoftMl()
    {
        int n = 0;
        foreach (var t in _texts) n += _ml.EncodeToIds(t).Count;
        return n;
    }

    /// <summary>This library's encoder into a reused buffer (what SamplePreparer does).</summary>
    [Benchmark]
    public int Own()
    {
        int n = 0;
        foreach (var t in _texts)
        {
            _sink.Clear();
            _tok.Encode(t, _sink);
            n += _sink.Count;
        }
        return n;
    }
}
