namespace NanoVlm.Packing.Internal;

/// <summary>
/// CPython's <c>random.Random</c> as far as packing needs it: MT19937 seeded like <c>random.seed(int)</c>
/// (<c>init_by_array</c> over the 32-bit words of |seed|) and <c>random.shuffle</c> with
/// <c>_randbelow_with_getrandbits</c>. Reproducing it lets the compat planner shuffle packs exactly as nanoVLM.
/// </summary>
internal sealed class PythonRandom
{
    private const int N = 624, M = 397;
    private readonly uint[] _mt = new uint[N];
    private int _mti;

    /// <summary>32-bit words drawn since seeding: with the seed, the whole state (see <see cref="Skip"/>).</summary>
    public long Draws { get; private set; }

    public PythonRandom(int seed) => Seed(seed);

    public void Seed(int seed)
    {
        Draws = 0;
        // random.seed(a) uses abs(a); |int.MinValue| still fits one 32-bit word, and 0 becomes key [0].
        var key = (uint)Math.Abs((long)seed);
        InitGenrand(19650218u);
        int i = 1, j = 0;
        for (var k = N; k > 0; k--)
        {
            _mt[i] = (_mt[i] ^ ((_mt[i - 1] ^ (_mt[i - 1] >> 30)) * 1664525u)) + key + (uint)j;
            i++; j++;
            if (i >= N) { _mt[0] = _mt[N - 1]; i = 1; }
            if (j >= 1) j = 0;
        }
        for (var k = N - 1; k > 0; k--)
        {
            _mt[i] = (_mt[i] ^ ((_mt[i - 1] ^ (_mt[i - 1] >> 30)) * 1566083941u)) - (uint)i;
            i++;
            if (i >= N) { _mt[0] = _mt[N - 1]; i = 1; }
        }
        _mt[0] = 0x80000000u;
    }

    private void InitGenrand(uint s)
    {
        _mt[0] = s;
        for (_mti = 1; _mti < N; _mti++)
            _mt[_mti] = 1812433253u * (_mt[_mti - 1] ^ (_mt[_mti - 1] >> 30)) + (uint)_mti;
    }

    public uint NextUInt32()
    {
        if (_mti >= N)
        {
            int kk;
            uint y;
            for (kk = 0; kk < N - M; kk++)
            {
                y = (_mt[kk] & 0x80000000u) | (_mt[kk + 1] & 0x7fffffffu);
                _mt[kk] = _mt[kk + M] ^ (y >> 1) ^ ((y & 1u) * 0x9908b0dfu);
            }
            for (; kk < N - 1; kk++)
            {
                y = (_mt[kk] & 0x80000000u) | (_mt[kk + 1] & 0x7fffffffu);
                _mt[kk] = _mt[kk + (M - N)] ^ (y >> 1) ^ ((y & 1u) * 0x9908b0dfu);
            }
            y = (_mt[N - 1] & 0x80000000u) | (_mt[0] & 0x7fffffffu);
            _mt[N - 1] = _mt[M - 1] ^ (y >> 1) ^ ((y & 1u) * 0x9908b0dfu);
            _mti = 0;
        }
        Draws++;
        var x = _mt[_mti++];
        x ^= x >> 11;
        x ^= (x << 7) & 0x9d2c5680u;
        x ^= (x << 15) & 0xefc60000u;
        x ^= x >> 18;
        return x;
    }

    /// <summary>Draws and discards <paramref name="n"/> words: re-seeding and skipping <see cref="Draws"/> restores a
    /// saved state (a few nanoseconds per word; 2.5 KB of MT19937 state need not be saved).</summary>
    public void Skip(long n)
    {
        for (long i = 0; i < n; i++) NextUInt32();
    }

    /// <summary><c>_randbelow_with_getrandbits(n)</c> for 0 &lt; n &lt; 2^31.</summary>
    public int Below(int n)
    {
        var k = 32 - System.Numerics.BitOperations.LeadingZeroCount((uint)n); // n.bit_length()
        uint r;
        do r = NextUInt32() >> (32 - k); // getrandbits(k) for k ≤ 32
        while (r >= (uint)n);
        return (int)r;
    }

    /// <summary><c>random.shuffle(x)</c>.</summary>
    public void Shuffle(Span<int> x)
    {
        for (var i = x.Length - 1; i > 0; i--)
        {
            var j = Below(i + 1);
            (x[i], x[j]) = (x[j], x[i]);
        }
    }
}
