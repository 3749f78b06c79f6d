namespace NanoVlm.Engine.Training;

/// <summary>
/// How the trainer publishes a checkpoint folder: everything is written into <c>step_N.tmp</c>, every file is flushed
/// to disk (a file system that reports a full disk only on flush reports it here), and only then is the folder renamed
/// to <c>step_N</c>. A crash or a full disk therefore never leaves a half-written <c>step_N</c> and never touches an
/// earlier checkpoint; the partial <c>step_N.tmp</c> is removed.
/// </summary>
internal static class CheckpointFolder
{
    /// <summary>Writes the folder <paramref name="final"/> through its temporary name.</summary>
    /// <param name="final">The checkpoint folder (e.g. <c>RUN/step_8</c>); one already there is replaced.</param>
    /// <param name="writeInto">Writes the files into the folder it is given.</param>
    /// <exception cref="IOException">The folder could not be written (a full disk, a read-only or missing run folder),
    /// naming <paramref name="final"/> and the system's reason.</exception>
    public static void Write(string final, Action<string> writeInto)
    {
        string tmp = final + ".tmp", old = final + ".old";
        try
        {
            if (Directory.Exists(tmp)) Directory.Delete(tmp, recursive: true);
            writeInto(tmp);
            foreach (var file in Directory.EnumerateFiles(tmp, "*", SearchOption.AllDirectories))
            {
                using var fs = new FileStream(file, FileMode.Open, FileAccess.Write, FileShare.Read);
                fs.Flush(flushToDisk: true);
            }
            // Re-saving a step (a resumed run that ends where it started): the old folder leaves only once the new one is in.
            if (Directory.Exists(old)) Directory.Delete(old, recursive: true);
            if (Directory.Exists(final)) Directory.Move(final, old);
            Directory.Move(tmp, final);
            if (Directory.Exists(old)) Directory.Delete(old, recursive: true);
        }
        catch (Exception e)
        {
            bool removed = TryDelete(tmp);
            if (!Directory.Exists(final) && Directory.Exists(old)) Directory.Move(old, final);
            if (e is not (IOException or UnauthorizedAccessException)) throw;
            throw new IOException($"Checkpoint {final} could not be written: {e.Message}. The checkpoints written before it are untouched" +
                (removed ? "." : $"; remove the partial {tmp}."), e);
        }
    }

    private static bool TryDelete(string dir)
    {
        try
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
