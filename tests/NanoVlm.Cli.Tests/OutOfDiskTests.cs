using System.Diagnostics;
using System.Text.Json;
using NanoVlm.SampleData;
using static NanoVlm.Cli.Tests.CliRunner;

namespace NanoVlm.Cli.Tests;

/// <summary>
/// <c>nanovlm train</c> running out of disk while it writes a checkpoint, on a real full file system: the run folder is
/// a small tmpfs mounted in an unprivileged user + mount namespace (<c>unshare --user --map-root-user --mount</c>), so
/// the error is the kernel's ENOSPC. Where <c>unshare</c> is missing or not permitted (a container without user
/// namespaces) the test reports itself skipped with the reason.
/// </summary>
[Collection(TorchRandomCollection.Name)]
public sealed class OutOfDiskTests : IDisposable
{
    private const string Unshare = "/usr/bin/unshare";
    private static readonly string Cli = Path.Combine(AppContext.BaseDirectory, "nanovlm.dll");
    private readonly string _dir = Directory.CreateTempSubdirectory("nanovlm-train-enospc-").FullName;

    public OutOfDiskTests() => SampleDataWriter.Write(Path.Combine(_dir, "data"), new SampleDataOptions { Rows = 24 });

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static (int Code, string Out, string Err) Run(string file, IEnumerable<string> args, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) start.ArgumentList.Add(a);
        using var p = Process.Start(start)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout)) { p.Kill(entireProcessTree: true); throw new TimeoutException($"{file} {string.Join(' ', args)} ran over {timeout}"); }
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    // Mounts a tmpfs of `kib` KiB on `mount` in a new user + mount namespace, runs `command` there, copies `mount`/run to
    // `snapshot` (the tmpfs ends with the namespace) and exits with the command's status (97: the mount failed).
    private static (int Code, string Out, string Err) InTmpfs(string mount, long kib, string snapshot, IEnumerable<string> command) =>
        Run(Unshare, ["--user", "--map-root-user", "--mount", "sh", "-c",
            $"mount -t tmpfs -o size={kib}k tmpfs \"$1\" || exit 97; m=\"$1\"; s=\"$2\"; shift 2; \"$@\"; rc=$?; cp -a \"$m/run\" \"$s\"; exit $rc",
            "sh", mount, snapshot, .. command], TimeSpan.FromMinutes(5));

    private static string? WhyNoTmpfs(string probeDir)
    {
        if (!File.Exists(Unshare)) return $"{Unshare} (util-linux) is not installed";
        Directory.CreateDirectory(probeDir);
        var (code, _, err) = Run(Unshare, ["--user", "--map-root-user", "--mount", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs \"$1\"", "sh", probeDir], TimeSpan.FromMinutes(1));
        return code == 0 ? null : $"an unprivileged user + mount namespace with a tmpfs is not permitted here: {err.Trim()}";
    }

    // Bytes a folder's files take on tmpfs (whole pages).
    private static long Pages(string dir, Func<string, bool> include) => Directory.GetFiles(dir, "*", SearchOption.AllDirectories)
        .Where(include).Sum(f => (new FileInfo(f).Length + 4095) / 4096 * 4096);

    [SkippableFact(Timeout = 600_000)]
    public async Task A_full_disk_while_saving_fails_naming_the_checkpoint_and_leaves_the_previous_one_intact()
    {
        await Task.Yield();
        string? why = WhyNoTmpfs(Path.Combine(_dir, "probe"));
        Skip.If(why is not null, why);
        string config = Path.Combine(_dir, "small.json");
        File.WriteAllText(config, """{"lm_max_length": 512, "vit_img_size": 32, "max_img_size": 64, "vit_patch_size": 8, "mp_image_token_length": 4, "lm_n_blocks": 1, "vit_n_blocks": 1}""");
        string[] train = ["train", "--data", Path.Combine(_dir, "data"), "--config", config, "--batch-size", "1", "--workers", "1", "--device", "cpu",
            "--json", "--max-steps", "3", "--eval-interval", "1", "--train-eval-batches", "0"];

        // The same run on the real disk says how much a checkpoint and the rest of the run folder take.
        string sized = Path.Combine(_dir, "sized");
        var reference = Invoke([.. train, "--out", sized]);
        Assert.True(reference.Code == 0, reference.Err);
        long checkpoint = Pages(Path.Combine(sized, "step_1"), _ => true);
        long rest = Pages(sized, f => !Path.GetRelativePath(sized, f).StartsWith("step_", StringComparison.Ordinal) && !f.EndsWith(".png", StringComparison.Ordinal));
        // Room for step_1 and half of step_2.
        long kib = (rest + checkpoint + checkpoint / 2) / 1024;

        string mount = Path.Combine(_dir, "tmpfs"), snapshot = Path.Combine(_dir, "snapshot");
        Directory.CreateDirectory(mount);
        var (code, _, err) = InTmpfs(mount, kib, snapshot, ["dotnet", Cli, .. train, "--out", Path.Combine(mount, "run")]);
        Assert.NotEqual(97, code);
        Assert.True(code == 2, $"exit {code}: {err}");
        Assert.Contains($"Checkpoint {Path.Combine(mount, "run", "step_2")} could not be written", err);
        Assert.Contains("No space left on device", err);

        // step_1 is as the run on the real disk wrote it, and loadable: the run resumes from it.
        foreach (var file in Directory.GetFiles(Path.Combine(sized, "step_1")))
            Assert.Equal(File.ReadAllBytes(file), File.ReadAllBytes(Path.Combine(snapshot, "step_1", Path.GetFileName(file))));
        Assert.False(Directory.Exists(Path.Combine(snapshot, "step_2")), "a half-written step_2");
        Assert.False(Directory.Exists(Path.Combine(snapshot, "step_2.tmp")), "the partial step_2.tmp was left behind");
        Assert.Equal(["step_1"], Directory.GetDirectories(snapshot, "step_*").Select(Path.GetFileName));
        var resumed = Invoke([.. train, "--resume", Path.Combine(snapshot, "step_1")]);
        Assert.True(resumed.Code == 0, resumed.Err);
        Assert.Equal(3, JsonDocument.Parse(resumed.Out).RootElement.GetProperty("steps").GetInt64());
    }
}
