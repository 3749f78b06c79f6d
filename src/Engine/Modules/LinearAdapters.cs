using NanoVlm.Engine.Internal;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace NanoVlm.Engine.Modules;

/// <summary>The linear layers of one module that can take a <see cref="LoraLinear"/>, by their registered names, and
/// the adapters attached to them; the module runs each layer through <see cref="Apply"/>.</summary>
public sealed class LinearAdapters
{
    private readonly Dictionary<string, Linear> _linears;
    private readonly Dictionary<string, LoraLinear> _adapters = new(StringComparer.Ordinal);

    internal LinearAdapters(params (string Name, Linear Layer)[] linears)
        => _linears = linears.ToDictionary(l => l.Name, l => l.Layer, StringComparer.Ordinal);

    /// <summary>The layers by registered name (e.g. <c>q_proj</c>).</summary>
    public IReadOnlyDictionary<string, Linear> Linears => _linears;

    /// <summary>The attached adapters by layer name.</summary>
    public IReadOnlyDictionary<string, LoraLinear> Attached => _adapters;

    internal Tensor Apply(string name, Tensor x, bool training)
    {
        var y = Autocast.Linear(_linears[name], x);
        if (_adapters.Count == 0 || !_adapters.TryGetValue(name, out var adapter)) return y;
        using var delta = adapter.Delta(x, training);
        return y.add_(delta, Scalars.One);
    }

    internal void Attach(string name, LoraLinear adapter)
    {
        if (!_linears.ContainsKey(name)) throw new ArgumentException($"No linear layer '{name}' here.", nameof(name));
        if (!_adapters.TryAdd(name, adapter)) throw new InvalidOperationException($"'{name}' already has a LoRA adapter.");
    }

    internal void DetachAll() => _adapters.Clear();
}

/// <summary>A module whose linear layers can take LoRA adapters.</summary>
public interface IAdaptableModule
{
    /// <summary>Its linear layers and their adapters.</summary>
    LinearAdapters Adapters { get; }
}
