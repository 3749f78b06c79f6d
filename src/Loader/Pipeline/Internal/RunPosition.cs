using NanoVlm.Packing;

namespace NanoVlm.Loader.Pipeline.Internal;

/// <summary>
/// Where the run stands after the last row the plan stage consumed — what a <see cref="LoaderState"/> saved then
/// records besides the planner: every source's position after its last consumed row, the mixture's random state and
/// the ended sources as of that row, the stage, and the rows consumed.
/// </summary>
internal sealed class RunPosition
{
    private readonly SourcePosition[] _sources;
    private readonly string _fingerprint;
    private ulong _mixtureRandom;
    private long _rowsConsumed;

    public RunPosition(LoaderState? resume, MixtureSource[] sources, ulong initialMixtureRandom, string fingerprint)
    {
        _sources = resume?.Sources.ToArray() ?? new SourcePosition[sources.Length];
        _mixtureRandom = resume?.MixtureRandom ?? initialMixtureRandom;
        Stage = resume?.Stage ?? sources[0].Stage;
        _rowsConsumed = resume?.RowsRead ?? 0;
        _fingerprint = fingerprint;
    }

    /// <summary>The mixture stage of the last consumed row.</summary>
    public int Stage { get; set; }

    /// <summary>Moves past <paramref name="row"/>: its source's position, the ended sources and the random state it
    /// was read with.</summary>
    public void Consume(OwnedRow row)
    {
        _rowsConsumed++;
        _sources[row.SourceIndex] = row.After;
        for (var i = 0; i < _sources.Length; i++) _sources[i] = _sources[i] with { Ended = row.Ended[i] };
        _mixtureRandom = row.MixtureRandom;
    }

    /// <summary>Records the state after batch <paramref name="batchIndex"/> into <paramref name="snapshot"/>, with
    /// the planner's buffered samples and ready packs named by their rows.</summary>
    public void After(long batchIndex, StreamingPacker planner, Dictionary<long, PendingSample> pending, StateSnapshot snapshot)
        => snapshot.Fill(batchIndex, _rowsConsumed, _sources, _mixtureRandom, Stage, planner, pending, _fingerprint);
}
