using System.Diagnostics;
using System.Globalization;
using NanoVlm.Engine;
using NanoVlm.Engine.Distributed;
using NanoVlm.Engine.Training;
using NanoVlm.Loader.Text;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

// Usage: NcclCheck [ELEMENTS] [--cpu]
// On a CUDA machine: joins NCCL with one rank on cuda:0, all-reduces the gradients of a small nanoVLM model between
// libtorch ops (backward before, comparisons after) and compares them with the gradients before (a sum over one rank
// is the identity, so they must be equal bit for bit), does the same for the global-token-mean division, and times the
// device and the host reducers on ELEMENTS float32 gradients (default 460,000,000: nanoVLM's size; 0 skips).
// Prints which NCCL was used (libtorch_cuda.so's own or a libnccl.so.2). Exit code 0: all checks passed; 1: a check
// failed; 2: no CUDA. --cpu runs the same checks on the CPU with the host communicator in NCCL's place (a dry run of
// this program where there is no GPU).
bool onCpu = args.Contains("--cpu");
var numbers = args.Where(a => a != "--cpu").ToList();
long elements = numbers.Count > 0 ? long.Parse(numbers[0], CultureInfo.InvariantCulture) : 460_000_000;
Console.WriteLine($"TorchSharp CUDA available: {cuda.is_available()}, devices: {(cuda.is_available() ? cuda.device_count() : 0)}");
if (!onCpu && !cuda.is_available())
{
    Console.WriteLine("FAIL: CUDA is not available to TorchSharp (publish with -p:TorchBackend=cuda, run on a machine with a GPU and its driver).");
    return 2;
}
var device = onCpu ? CPU : new Device(DeviceType.CUDA, 0);
int failures = 0;
void Check(bool ok, string what)
{
    Console.WriteLine($"{(ok ? "PASS" : "FAIL")}: {what}");
    if (!ok) failures++;
}

var host = new SingleProcessCommunicator();
using IDeviceCollective nccl = onCpu ? new HostTensorCollective(host) : NcclCommunicator.Create(host, 0);
Console.WriteLine($"collective: {nccl.Description}");

var tokenizer = VlmTokenizer.LoadDefault();
manual_seed(0);
using var model = new VisionLanguageModel(new VlmConfig
{
    VitHiddenDim = 32, VitInterDim = 64, VitPatchSize = 8, VitImgSize = 32, VitNHeads = 2, VitNBlocks = 1,
    LmHiddenDim = 48, LmInterDim = 96, LmNHeads = 4, LmNKvHeads = 2, LmNBlocks = 2, LmVocabSize = tokenizer.VocabularySize,
    MpPixelShuffleFactor = 2, MpImageTokenLength = 4, LmMaxLength = 256, MaxImgSize = 64,
}, tokenizer.ImageTokenId);
model.to(device);
using var recipe = new OptimizerRecipe(model, new GroupLearningRates(1e-3, 1e-3, 1e-3));
var ps = recipe.Parameters;

// Gradients made by libtorch kernels on the device, queued just before the reduction.
Tensor[] Backward()
{
    foreach (var p in ps) p.grad = null;
    using (NewDisposeScope())
    {
        var loss = zeros(1, device: device);
        for (int i = 0; i < ps.Count; i++) loss = loss + (ps[i] * ps[i]).sum() * (i % 5 + 1) + ps[i].sin().sum();
        loss.backward();
    }
    return [.. ps.Select(p => p.grad!.clone())];
}
bool AllEqual(Tensor[] expected, Func<Tensor, Tensor>? transform = null)
{
    using var scope = NewDisposeScope();
    return ps.Select((p, i) => p.grad!.eq(transform is null ? expected[i] : transform(expected[i])).all().item<bool>()).All(x => x);
}

// 1000-element buckets: many all-reduces, parameters spanning buckets.
using (var reducer = new DeviceGradientReducer(nccl, host, ps, GradientObjective.MicroBatchMean, bucketElements: 1000))
{
    var before = Backward();
    var r = reducer.Reduce(0);
    Check(AllEqual(before), $"all-reduce ({nccl.GetType().Name}) of {reducer.Elements:N0} gradient elements in {reducer.Buckets} buckets over one rank leaves them bit for bit ({r.Seconds * 1e3:F2} ms)");
    Check(ps.All(p => p.grad!.device_type == device.type), "the gradients stay on the device");
}
using (var reducer = new DeviceGradientReducer(nccl, host, ps, GradientObjective.GlobalTokenMean, bucketElements: 1000))
{
    var before = Backward();
    var r = reducer.Reduce(8);
    Check(r.Divisor == 8 && AllEqual(before, g => g / 8.0), "global token mean: the gradients divided by the token count (8)");
}
{
    var before = Backward();
    new GradientReducer(host, ps, GradientObjective.MicroBatchMean, 1000).Reduce(0);
    Check(AllEqual(before), "the host reducer (device -> host -> device) gives the same gradients");
}
// A training step after the reduction (clipping and AdamW read the reduced gradients on the same stream).
{
    Backward();
    using var reducer = new DeviceGradientReducer(nccl, host, ps, GradientObjective.MicroBatchMean);
    reducer.Reduce(0);
    var result = recipe.Step(0);
    Check(double.IsFinite(result.GradNorm), $"an optimizer step after the NCCL reduction (grad norm {result.GradNorm:F4})");
}

if (elements > 0)
{
    // nanoVLM-sized gradients as 200 tensors, timed in the device path (NCCL, one rank) and the host path.
    int tensors = 200;
    var big = Enumerable.Range(0, tensors).Select(i => new Parameter(zeros(elements / tensors, device: device))).ToList();
    foreach (var p in big) p.grad = ones_like(p);
    double Median(Func<double> run, int n) { var xs = Enumerable.Range(0, n).Select(_ => run()).Order().ToList(); return xs[n / 2]; }
    using var device25 = new DeviceGradientReducer(nccl, host, big, GradientObjective.MicroBatchMean);
    double deviceSeconds = Median(() => device25.Reduce(0).Seconds, 5);
    var host25 = new GradientReducer(host, big, GradientObjective.MicroBatchMean);
    double hostSeconds = Median(() => host25.Reduce(0).Seconds, 3);
    double gb = device25.Elements * 4 / 1e9;
    Console.WriteLine($"TIME: {device25.Elements:N0} float32 gradient elements ({gb:F2} GB) in {device25.Buckets} 25 MB buckets: " +
        $"device path (copies + NCCL, one rank) {deviceSeconds * 1e3:F1} ms, host path (device->host->device copies) {hostSeconds * 1e3:F1} ms (medians)");
    Check(big.All(p => p.grad!.eq(1).all().item<bool>()), "the big gradients are unchanged by both reductions");
    foreach (var p in big) p.Dispose();
}
Console.WriteLine(failures == 0 ? "ALL PASSED" : $"{failures} check(s) FAILED");
return failures == 0 ? 0 : 1;
