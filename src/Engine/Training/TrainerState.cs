using System.Text.Json;
using NanoVlm.Loader.Pipeline;

namespace NanoVlm.Engine.Training;

/// <summary>Where a run stands, saved with every checkpoint as <c>trainer_state.json</c> next to the optimizer state,
/// so <c>--resume RUN/step_N</c> continues exactly: the optimizer steps done, the training loader's position after the
/// last batch the run consumed, and the skip count.</summary>
public sealed record TrainerState
{
    /// <summary>The file's name in a checkpoint folder.</summary>
    public const string FileName = "trainer_state.json";

    /// <summary>The optimizer state's file name (<see cref="AdamWOptimizer.Save"/>: safetensors).</summary>
    public const string OptimizerFileName = "optimizer.safetensors";

    /// <summary>Optimizer steps completed.</summary>
    public long GlobalStep { get; init; }

    /// <summary>Micro-batches skipped so far.</summary>
    public long SkippedMicroBatches { get; init; }

    /// <summary>The training loader's state after the last consumed batch (JSON of <see cref="LoaderState"/>).</summary>
    public string? LoaderState { get; init; }

    /// <summary>Ranks of the run that wrote the checkpoint (1 for a single process).</summary>
    public int WorldSize { get; init; } = 1;

    /// <summary>Every rank's loader state, in rank order, for a data-parallel run (null for a single process).</summary>
    public IReadOnlyList<string?>? RankLoaderStates { get; init; }

    /// <summary>The loader state rank <paramref name="rank"/> of <paramref name="worldSize"/> resumes from: its own when
    /// the checkpoint was written by as many ranks, else null (another world size shards the data differently, so
    /// the data order restarts).</summary>
    /// <param name="rank">This rank.</param>
    /// <param name="worldSize">Ranks of the resumed run.</param>
    /// <returns>The state's JSON, or null.</returns>
    public string? LoaderStateOf(int rank, int worldSize)
    {
        if (worldSize != WorldSize) return null;
        if (worldSize == 1) return LoaderState;
        return RankLoaderStates is { } states && rank < states.Count ? states[rank] : null;
    }

    /// <summary>Reads the state of a checkpoint folder.</summary>
    /// <param name="checkpointDir">A <c>step_N</c> folder written by the trainer.</param>
    /// <returns>The state.</returns>
    /// <exception cref="InvalidDataException">The folder has no state or optimizer file, or they are damaged.</exception>
    public static TrainerState Read(string checkpointDir)
    {
        string path = Path.Combine(checkpointDir, FileName);
        if (!File.Exists(path))
            throw new InvalidDataException($"{checkpointDir}: cannot resume from it: {FileName} is missing (a model-only checkpoint, e.g. one saved by nanoVLM, can start a run with --checkpoint, not resume one).");
        if (!File.Exists(Path.Combine(checkpointDir, OptimizerFileName)))
            throw new InvalidDataException($"{checkpointDir}: cannot resume from it: {OptimizerFileName} is missing" +
                (File.Exists(Path.Combine(checkpointDir, "optimizer.bin"))
                    ? " (its optimizer.bin is TorchSharp's format, written before the trainer had its own AdamW: start a new run from its weights with --checkpoint)."
                    : "."));
        try
        {
            return JsonSerializer.Deserialize<TrainerState>(File.ReadAllText(path))
                ?? throw new InvalidDataException($"{path}: empty trainer state.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: damaged trainer state ({e.Message}).", e);
        }
    }

    /// <summary>Writes the state into <paramref name="checkpointDir"/>.</summary>
    /// <param name="checkpointDir">The folder.</param>
    public void Write(string checkpointDir)
        => File.WriteAllText(Path.Combine(checkpointDir, FileName), JsonSerializer.Serialize(this, new JsonSerializerOptions { WriteIndented = true }));
}
