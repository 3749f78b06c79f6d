using System.Globalization;
using NanoVlm.Engine;
using NanoVlm.Engine.Distributed;
using NanoVlm.Engine.Training;
using NanoVlm.Loader.Pipeline;
using NanoVlm.Loader.Sources;
using NanoVlm.Loader.Text;
using NanoVlm.SampleData;
using static TorchSharp.torch;

// Usage: (under mpiexec -n N, or N times with RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT set) DataParallelHost train DATA OUT [key=value...]
//        DataParallelHost reference DATA OUT [key=value...]   (one process, every rank's packs in one batch)
//        DataParallelHost data DATA ROWS                        (writes the sample data)
//        (as train) DataParallelHost bench - -                 (times the all-reduce alone)
//        (under mpiexec) DataParallelHost probe - -            (MPI_Init leaves .NET's signal handling intact)
//        (under mpiexec) DataParallelHost device-buckets - -   (the device bucket path over MPI equals the host reducer)
// keys: objective=micro|tokens, steps, ga, batch, timeout (s), lr (all groups).
var mode = args[0];
if (mode == "data")
{
    SampleDataWriter.Write(args[1], new SampleDataOptions { Rows = int.Parse(args[2], CultureInfo.InvariantCulture), Shards = 2 });
    return 0;
}
string data = args[1], output = args[2];
var settings = args.Skip(3).Select(a => a.Split('=', 2)).ToDictionary(a => a[0], a => a[1]);
string Get(string key, string fallback) => settings.GetValueOrDefault(key, fallback);
var objective = Get("objective", "micro") == "tokens" ? GradientObjective.GlobalTokenMean : GradientObjective.MicroBatchMean;
int steps = int.Parse(Get("steps", "5"), CultureInfo.InvariantCulture), ga = int.Parse(Get("ga", "2"), CultureInfo.InvariantCulture);
int batchSize = int.Parse(Get("batch", "4"), CultureInfo.InvariantCulture), world = int.Parse(Get("world", "2"), CultureInfo.InvariantCulture);
double lr = double.Parse(Get("lr", "1e-3"), CultureInfo.InvariantCulture);
set_num_threads(1);

var tokenizer = VlmTokenizer.LoadDefault();
var config = new VlmConfig
{
    VitHiddenDim = 32, VitInterDim = 64, VitPatchSize = 8, VitImgSize = 32, VitNHeads = 2, VitNBlocks = 1,
    LmHiddenDim = 48, LmInterDim = 96, LmNHeads = 4, LmNKvHeads = 2, LmNBlocks = 2, LmVocabSize = tokenizer.VocabularySize,
    MpPixelShuffleFactor = 2, MpImageTokenLength = 4, LmMaxLength = 256, MaxImgSize = 64,
};
var options = new TrainOptions
{
    LearningRates = new GroupLearningRates(lr, lr, lr), GradientAccumulationSteps = ga, MaxTrainingSteps = steps, EvalInterval = 0, ValidationBatches = 2,
};
manual_seed(0);
using var model = new VisionLanguageModel(config, tokenizer.ImageTokenId);
DataLoaderOptions LoaderOf(int rank, int size) => TrainingPresets.LoaderFor(config, batchSize) with { Workers = 1, Rank = rank, WorldSize = size };

if (mode == "reference") return Reference();

var launch = LaunchEnvironment.Detect();
var timeout = TimeSpan.FromSeconds(double.Parse(Get("timeout", "1800"), CultureInfo.InvariantCulture));
// Started torchrun-style (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT): TCP; under mpiexec: MPI.
ICommunicator transport = launch.Launcher == Launcher.Torchrun
    ? TcpCommunicator.Connect(TcpRendezvousOptions.FromLaunch(launch, timeout, Environment.GetEnvironmentVariable), Console.Error, TimeSpan.FromSeconds(30))
    : new MpiCommunicator();
using var communicator = new WatchedCommunicator(transport, timeout, Console.Error);
if (mode == "bench")
{
    // The all-reduce alone: after a synchronising all-reduce, N float32 elements in 25 MB buckets, timed on rank 0.
    foreach (long n in new long[] { 351_000, 1_804_128, 16_000_000, 64_000_000 })
    {
        var buffer = new float[Math.Min(n, GradientReducer.DefaultBucketElements)];
        var times = new List<double>();
        var sync = new double[1];
        for (int repeat = 0; repeat < 5; repeat++)
        {
            communicator.AllReduce(sync, ReduceOperation.Sum);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            for (long done = 0; done < n; done += buffer.Length)
                communicator.AllReduce(buffer.AsSpan(0, (int)Math.Min(buffer.Length, n - done)), ReduceOperation.Sum);
            times.Add(clock.Elapsed.TotalSeconds);
        }
        times.Sort();
        if (communicator.Rank == 0)
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"all-reduce of {n * 4 / 1e6:F1} MB over {communicator.Size} ranks: median {times[2] * 1000:F1} ms, min {times[0] * 1000:F1} ms ({n * 4 / times[2] / 1e9:F2} GB/s algorithm bandwidth)"));
    }
    return 0;
}
if (mode == "probe")
{
    // .NET turns SIGSEGV into NullReferenceException; MPI's transport must not have taken that signal over.
    try { _ = ((string)null!).Length; } catch (NullReferenceException) { Console.WriteLine($"rank {communicator.Rank}: NullReferenceException caught after MPI_Init"); }
    return 0;
}
if (mode == "device-buckets")
    return DeviceBucketsCheck.Run(communicator, model, objective, int.Parse(Get("bucket", "1000"), CultureInfo.InvariantCulture));
Console.WriteLine($"rank {communicator.Rank} of {communicator.Size}: pid {Environment.ProcessId} (launcher {launch.Launcher}, PMI rank {launch.Rank})");
var parallel = new DataParallel(communicator, objective, bucketElements: int.Parse(Get("bucket", "10000"), CultureInfo.InvariantCulture));
try
{
    RunAgreement.Verify(parallel, [new("steps", steps.ToString(CultureInfo.InvariantCulture)), new("objective", objective.ToString()),
        new("weights", RunAgreement.WeightsDigest(model))]);
}
catch (InvalidOperationException e)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 2;
}
using (var trainer = new Trainer(model, options, Path.Combine(output, "run"), parallel: parallel))
{
    trainer.StepCompleted += m => Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"rank {parallel.Rank} step {m.Step} loss {m.Loss:F5} grad_norm {m.GradNorm:F6} tokens/s {string.Join('/', m.RankTokensPerSecond.Select(t => t.ToString("F0", CultureInfo.InvariantCulture)))} all-reduce {m.AllReduceTime * 1000:F1} ms {m.AllReduceBytes} B fwbw {m.FwBwTime:F3} s elapsed {m.Elapsed:F3} s"));
    using var loader = new DataLoader(RowSources.Open(data), LoaderOf(parallel.Rank, parallel.WorldSize), null, tokenizer);
    try
    {
        var summary = trainer.Run(Labelled(loader, parallel.Rank));
        Console.WriteLine($"rank {parallel.Rank} done: {summary.Steps} steps in {summary.Seconds:F2} s");
    }
    catch (Exception e) when (e is IOException or InvalidOperationException)
    {
        // As nanovlm train: name the rank and the error, then end the job.
        Console.Error.WriteLine($"error: rank {parallel.Rank} of {parallel.WorldSize}: {e.Message}");
        communicator.Abort(2);
        return 2;
    }
}
Checkpoint.Save(model, Path.Combine(output, $"rank{parallel.Rank}"));
return 0;

// Prints each batch's labelled-token count (the tests check that the ranks' counts differ).
static IEnumerable<Batch> Labelled(IEnumerable<Batch> batches, int rank)
{
    foreach (var b in batches)
    {
        Console.WriteLine($"rank {rank} batch {b.Index} labelled {b.Packs.Sum(LabelledTokens)}");
        yield return b;
    }
}

static long LabelledTokens(PackedSequence p)
{
    using var inputs = PackBatch.From([p], CPU);
    return inputs.Labels.ne(-100).sum().item<long>();
}

// One process, one batch made of every rank's packs, the objective computed directly.
int Reference()
{
    var loaders = Enumerable.Range(0, world).Select(r => new DataLoader(RowSources.Open(data), LoaderOf(r, world), null, tokenizer)).ToList();
    var iterators = loaders.Select(l => ((IEnumerable<Batch>)l).GetEnumerator()).ToList();
    using var recipe = new OptimizerRecipe(model, options.LearningRates, ga, options.MaxGradNorm, steps);
    model.train();
    for (long step = 0; step < steps; step++)
    {
        var micro = Enumerable.Range(0, ga).Select(_ => iterators.Select(Next).ToList()).ToList();
        long stepTokens = micro.Sum(m => m.Sum(b => b.Packs.Sum(LabelledTokens)));
        foreach (var batches in micro)
        {
            using var scope = NewDisposeScope();
            using var inputs = PackBatch.From([.. batches.SelectMany(b => b.Packs)], CPU);
            var hidden = model.Forward(inputs, options.Attention);
            // The objective over the combined batch, summed in the ranks' row groups (the same value as one mean over
            // all rows; grouped like the ranks' sums so that float rounding is comparable: AdamW turns the rounding of
            // a near-zero gradient element into a visible step).
            Tensor sum = zeros(1);
            long row = 0;
            foreach (var b in batches)
            {
                long n = b.Packs.Count;
                var labels = inputs.Labels.narrow(0, row, n);
                var loss = model.Loss(hidden.narrow(0, row, n), labels);
                // nanoVLM: each rank's micro-batch loss is its own token mean, the objective their mean over ranks and
                // GA; global token mean: every labelled token of the step weighs 1 / (the step's labelled tokens).
                sum = objective == GradientObjective.GlobalTokenMean
                    ? sum + loss * labels.ne(-100).sum().item<long>()
                    : sum + loss;
                row += n;
            }
            if (objective == GradientObjective.GlobalTokenMean) recipe.Backward(sum.squeeze(), 1.0 / stepTokens);
            else recipe.Backward((sum / batches.Count).squeeze());
            foreach (var b in batches) b.Dispose();
        }
        var r = recipe.Step(step);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"reference step {step + 1} grad_norm {r.GradNorm:F6}"));
    }
    foreach (var l in loaders) l.Dispose();
    Checkpoint.Save(model, Path.Combine(output, "reference"));
    return 0;
}

static Batch Next(IEnumerator<Batch> e)
{
    while (e.MoveNext())
    {
        if (e.Current.Packs.Any(p => p.TileCount > 0)) return e.Current;
        e.Current.Dispose();
    }
    throw new InvalidOperationException("the data ended");
}
