using System.Text.Json;
using NanoVlm.Engine.Checkpoints;
using NanoVlm.Testing;
using static TorchSharp.torch;

namespace NanoVlm.Engine.Tests.Model;

/// <summary>One committed parity case of tests/fixtures/engine (made by tools/engine_reference/make_engine_fixtures.py
/// from nanoVLM's own model code): its checkpoint, inputs and nanoVLM's outputs.</summary>
internal sealed class EngineCase : IDisposable
{
    public static readonly string[] Names = ["a_gqa2_s2", "b_mha_s4", "c_gqa4_s2"];

    private readonly SafeTensorsFile _io;

    public EngineCase(string name)
    {
        Name = name;
        Dir = Fixtures.Path("engine", name);
        using var manifest = JsonDocument.Parse(File.ReadAllBytes(System.IO.Path.Combine(Dir, "manifest.json")));
        ImageTokenId = manifest.RootElement.GetProperty("image_token_id").GetInt32();
        EosTokenId = manifest.RootElement.GetProperty("eos_token_id").GetInt32();
        _io = SafeTensorsFile.Open(System.IO.Path.Combine(Dir, "io.safetensors"));
    }

    public string Name { get; }
    public string Dir { get; }
    public string CheckpointDir => System.IO.Path.Combine(Dir, "ckpt");
    public int ImageTokenId { get; }
    public int EosTokenId { get; }

    public bool Has(string key) => _io.Tensors.ContainsKey(key);

    /// <summary>A copy of an io tensor (owned by the caller).</summary>
    public Tensor Get(string key)
    {
        using var view = _io.View(key);
        return view.clone();
    }

    public VisionLanguageModel LoadModel() => Checkpoint.Load(CheckpointDir, ImageTokenId);

    public void Dispose() => _io.Dispose();

    public static TheoryData<string> All()
    {
        var data = new TheoryData<string>();
        foreach (var n in Names) data.Add(n);
        return data;
    }
}
