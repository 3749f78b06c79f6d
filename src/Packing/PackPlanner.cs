using NanoVlm.Packing.Internal;

namespace NanoVlm.Packing;

/// <summary>
/// Splits a window of samples into packs of at most <see cref="PackingOptions.SequenceLength"/> tokens and
/// <see cref="PackingOptions.MaxImagesPerPack"/> images.
/// </summary>
/// <remarks>
/// The plan is written in CSR form into caller-provided spans: pack <c>p</c> consists of the sample indices
/// <c>members[packStarts[p] .. packStarts[p + 1]]</c> (indices into the <c>shapes</c> span, in the order the
/// samples were put into the pack). Scratch memory is owned by the planner and reused, so after the first plan
/// of a given size planning allocates nothing. A planner instance is therefore not thread-safe; use one per
/// thread. The shuffle random state carries over from plan to plan, like nanoVLM's global <c>random</c>.
/// </remarks>
public abstract class PackPlanner
{
    private protected readonly ShapeOrder _sorter = new();
    private protected readonly PythonRandom _random;

    private protected PackPlanner(PackingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        _random = new PythonRandom(options.Seed);
    }

    /// <summary>The limits this planner packs under.</summary>
    public PackingOptions Options { get; }

    /// <summary>Which algorithm this planner runs.</summary>
    public abstract PlannerKind Kind { get; }

    /// <summary>Creates the planner for <paramref name="kind"/>.</summary>
    public static PackPlanner Create(PlannerKind kind, PackingOptions options) => kind switch
    {
        PlannerKind.BestFit => new BestFitPlanner(options),
        PlannerKind.NanovlmCompat => new NanovlmCompatPlanner(options),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown planner kind."),
    };

    /// <summary>
    /// Plans <paramref name="shapes"/> into packs and returns the number of packs.
    /// </summary>
    /// <param name="shapes">The samples; lengths include the per-sample pad token.</param>
    /// <param name="members">Receives sample indices grouped by pack; needs at least <c>shapes.Length</c> entries.</param>
    /// <param name="packStarts">Receives pack offsets into <paramref name="members"/>; needs at least <c>shapes.Length + 1</c> entries.</param>
    /// <returns>The number of packs <c>P</c>; <c>packStarts[0..P]</c> (inclusive) are written.</returns>
    /// <exception cref="ArgumentOutOfRangeException">
    /// A sample has a length below 1 or above the sequence length, a negative image count or more images than the
    /// cap; the message names the sample's index and id.
    /// </exception>
    /// <exception cref="ArgumentException">An output span is too short.</exception>
    public int Plan(ReadOnlySpan<SampleShape> shapes, Span<int> members, Span<int> packStarts)
    {
        if (members.Length < shapes.Length)
            throw new ArgumentException($"members needs {shapes.Length} entries, has {members.Length}.", nameof(members));
        if (packStarts.Length < shapes.Length + 1)
            throw new ArgumentException($"packStarts needs {shapes.Length + 1} entries, has {packStarts.Length}.", nameof(packStarts));
        var totals = ShapeValidation.Validate(shapes, Options.SequenceLength, Options.MaxImagesPerPack);
        return PlanValidated(shapes, totals, members, packStarts);
    }

    /// <summary>Words the pack shuffle has drawn since the planner was created (its whole random state).</summary>
    internal long RandomDraws => _random.Draws;

    /// <summary>Advances the shuffle's random state as if <paramref name="draws"/> words had been drawn.</summary>
    internal void SkipRandom(long draws) => _random.Skip(draws);

    private protected abstract int PlanValidated(
        ReadOnlySpan<SampleShape> shapes, ShapeTotals totals, Span<int> members, Span<int> packStarts);
}
