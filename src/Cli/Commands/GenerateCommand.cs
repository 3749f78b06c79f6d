using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using NanoVlm.Engine;
using NanoVlm.Engine.Runtime;
using static TorchSharp.torch;

// Namespace NanoVlm.Cli (not .Commands) so Program.Commands() can name the command without a using.
namespace NanoVlm.Cli;

/// <summary>
/// <c>nanovlm generate</c>: answers a prompt about one or more images with a nanoVLM checkpoint, as nanoVLM's
/// generate.py does (fp32, KV cache; nanoVLM's sampling defaults unless <c>--greedy</c>).
/// </summary>
internal static class GenerateCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var checkpoint = new Option<DirectoryInfo>("--checkpoint") { Description = "Checkpoint folder (config.json + model.safetensors).", Required = true };
        var images = new Option<FileInfo[]>("--image") { Description = "Image file; repeat for several images.", AllowMultipleArgumentsPerToken = false };
        var prompt = new Option<string>("--prompt") { Description = "The question.", Required = true };
        var maxNew = new Option<int>("--max-new-tokens") { Description = "Tokens to generate.", DefaultValueFactory = _ => 64 };
        var greedy = new Option<bool>("--greedy") { Description = "Argmax decoding instead of sampling." };
        var temperature = new Option<double>("--temperature") { Description = "Sampling temperature (nanoVLM: 0.5).", DefaultValueFactory = _ => 0.5 };
        var topK = new Option<int>("--top-k") { Description = "Keep the K most likely tokens (0 = off; nanoVLM: 50).", DefaultValueFactory = _ => 50 };
        var topP = new Option<double>("--top-p") { Description = "Nucleus filter (1 = off; nanoVLM: 0.9).", DefaultValueFactory = _ => 0.9 };
        var seed = new Option<long?>("--seed") { Description = "Seed of the sampler (same seed, same answer on the same machine)." };
        var tokenizer = new Option<string?>("--tokenizer")
        {
            Description = "tokenizer.json or SentencePiece .model ('default' = the built-in one). Omitted: tokenizer.json / tokenizer.model in the checkpoint folder.",
        };
        var device = new Option<string>("--device") { Description = "auto, cpu, cuda or cuda:N.", DefaultValueFactory = _ => "auto" };
        var json = new Option<bool>("--json") { Description = "Print one JSON object {prompt_ids, ids, text, tokens_per_s}." };

        var command = new Command("generate", "Answer a prompt about images with a nanoVLM checkpoint.")
        {
            checkpoint, images, prompt, maxNew, greedy, temperature, topK, topP, seed, tokenizer, device, json,
        };
        command.SetAction(parse =>
        {
            var stdout = parse.InvocationConfiguration.Output;
            var stderr = parse.InvocationConfiguration.Error;
            try
            {
                string dir = parse.GetValue(checkpoint)!.FullName;
                var cfg = VlmConfig.Read(Path.Combine(dir, Checkpoint.ConfigFile));
                var tok = CheckpointTokenizer.Load(dir, cfg, parse.GetValue(tokenizer));
                var files = parse.GetValue(images) ?? [];
                var loaded = files.Select(f => f.Exists
                    ? (File.ReadAllBytes(f.FullName), f.FullName)
                    : throw new FileNotFoundException($"Image '{f.FullName}' does not exist.", f.FullName)).ToList();
                var encoder = new PromptEncoder(cfg, tok);
                var encoded = encoder.Encode(parse.GetValue(prompt)!, loaded);
                var dev = TorchRuntime.SelectDevice(parse.GetValue(device));
                using var model = Checkpoint.Load(dir, tok.ImageTokenId, dev);
                var (ids, mask, tiles) = encoder.Batch([encoded]);
                using (ids) using (mask) using (tiles)
                {
                    var options = new GenerationOptions
                    {
                        MaxNewTokens = parse.GetValue(maxNew), Greedy = parse.GetValue(greedy),
                        Temperature = parse.GetValue(temperature), TopK = parse.GetValue(topK), TopP = parse.GetValue(topP),
                        Seed = parse.GetValue(seed), EosTokenId = tok.EosTokenId,
                    };
                    var sw = Stopwatch.StartNew();
                    using var output = model.Generate(ids.to(dev), tiles?.to(dev), mask?.to(dev), options);
                    double seconds = sw.Elapsed.TotalSeconds;
                    int[] newIds = [.. output[0].data<long>().ToArray().Select(v => (int)v)];
                    string text = CheckpointTokenizer.DecodeAnswer(tok, newIds);
                    double tps = newIds.Length / Math.Max(seconds, 1e-9);
                    if (parse.GetValue(json))
                        stdout.WriteLine(JsonSerializer.Serialize(new { prompt_ids = encoded.Ids, ids = newIds, text, tokens_per_s = Math.Round(tps, 2) }));
                    else
                    {
                        stdout.WriteLine(text);
                        stderr.WriteLine($"({newIds.Length} tokens in {seconds:F2} s, {tps:F1} tokens/s, prompt {encoded.Ids.Length} tokens, {encoded.TileCount} tiles, {dev})");
                    }
                }
                return 0;
            }
            catch (Exception e) when (e is ArgumentException or IOException or InvalidDataException or InvalidOperationException or NotSupportedException or NanoVlm.Loader.Images.ImageDecodeException)
            {
                stderr.WriteLine($"error: {e.Message}");
                return 2;
            }
        });
        return command;
    }
}
