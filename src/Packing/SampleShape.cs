using System.Runtime.InteropServices;

namespace NanoVlm.Packing;

/// <summary>
/// What a planner needs to know about one sample: its packed token length, its image count and an id the
/// caller uses to find the sample again.
/// </summary>
/// <param name="Length">
/// Tokens the sample occupies in a pack, <b>including</b> the one pad token nanoVLM appends after every sample
/// (so a sample with 99 text/image tokens has length 100). Must be ≥ 1.
/// </param>
/// <param name="Images">Images the sample carries (≥ 0); a pack may hold at most the options' image cap.</param>
/// <param name="Id">Caller-defined identifier (for example the row index); planners never interpret it.</param>
[StructLayout(LayoutKind.Sequential)]
public readonly record struct SampleShape(int Length, int Images, long Id);
