namespace NanoVlm.Packing;

/// <summary>A <see cref="StreamingPacker"/>'s position in its stream, from <see cref="StreamingPacker.SaveState"/>.</summary>
/// <param name="Buffered">Samples waiting for the next window (carried and newly added), in buffer order.</param>
/// <param name="Ready">Packs planned and not yet taken, in plan order.</param>
/// <param name="PlannerDraws">Words the planner's pack shuffle has drawn (its random state).</param>
public sealed record StreamingPackerState(SampleShape[] Buffered, SampleShape[][] Ready, long PlannerDraws);
