using BenchmarkDotNet.Running;
using NanoVlm.Benchmarks.Engine;

// `engine-harness ...`: the console harness of tools/engine_bench.sh. `image-stages DIR`: the image path's stage split
// and floor (perf-reports/images.md). Otherwise every BenchmarkDotNet suite in this
// assembly; pick with --filter, e.g. `--filter *Planner*`.
if (args.Length > 0 && args[0] == "engine-harness") return EngineHarness.Run(args[1..]);
// `loader-alloc [workers] [batches]`: the loader's steady-state allocation by type and thread (LoaderAllocationProbe).
if (args.Length > 0 && args[0] == "loader-alloc") return NanoVlm.Benchmarks.LoaderAllocationProbe.Run(args[1..]);
if (args.Length > 0 && args[0] == "image-stages") return NanoVlm.Benchmarks.ImageStageHarness.Run(args[1..]);
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
