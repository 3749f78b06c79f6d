using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace NanoVlm.Loader.Pipeline.Internal;

/// <summary>The hash a <see cref="LoaderState"/> carries of everything that determines the batches: the options
/// (less those that only change speed or memory) and every source's name, weight, stage and shards.</summary>
internal static class LoaderFingerprint
{
    public static string Of(DataLoaderOptions o, MixtureSource[] sources)
    {
        var relevant = o with { Workers = 1, OutputCapacity = 1, SlabPoolSize = 1, ReadAheadRows = 1 };
        var sb = new StringBuilder(relevant.ToString()).Append(relevant.QualityFilter).Append(relevant.Images);
        foreach (var s in sources)
        {
            sb.Append('|').Append(s.Source.Name).Append(':').Append(s.Weight.ToString("R", CultureInfo.InvariantCulture)).Append('@').Append(s.Stage);
            if (s.Epochs is { } epochs) sb.Append('x').Append(epochs); // absent for the default: older states still match
            foreach (var shard in s.Source.Shards) sb.Append(',').Append(shard);
        }
        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(sb.ToString())))[..16];
    }
}
