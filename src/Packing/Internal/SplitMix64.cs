namespace NanoVlm.Packing.Internal;

/// <summary>A tiny seeded generator whose sequence is fixed forever (unlike System.Random's algorithm choice).</summary>
internal struct SplitMix64(ulong seed)
{
    private ulong _state = seed;

    public ulong Next()
    {
        var z = _state += 0x9E3779B97F4A7C15ul;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ul;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBul;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (Next() >> 11) * (1.0 / (1ul << 53));

    /// <summary>Uniform integer in [lo, hi] (inclusive); the modulo bias is irrelevant for test data.</summary>
    public int NextInt(int lo, int hi) => lo + (int)(Next() % (ulong)(hi - lo + 1));

    /// <summary>Standard normal (Box–Muller; one of the pair is discarded for simplicity).</summary>
    public double NextGaussian()
    {
        var u1 = 1.0 - NextDouble(); // (0, 1]: log is finite
        var u2 = NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }
}
