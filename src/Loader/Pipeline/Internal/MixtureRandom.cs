namespace NanoVlm.Loader.Pipeline.Internal;

/// <summary>SplitMix64: the mixture's source draws. Its whole state is one <see cref="ulong"/>, saved in
/// <see cref="LoaderState.MixtureRandom"/> (System.Random's state cannot be saved).</summary>
internal struct MixtureRandom(ulong state)
{
    public ulong State { get; private set; } = state;

    /// <summary>A double in [0, 1) from the top 53 bits.</summary>
    public double NextDouble()
    {
        var z = State += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return ((z ^ (z >> 31)) >> 11) * (1.0 / (1UL << 53));
    }
}
