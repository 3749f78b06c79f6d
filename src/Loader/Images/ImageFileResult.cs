using NanoVlm.Kernels;

namespace NanoVlm.Loader.Images;

/// <summary>The outcome of one image file: its plan when it was processed, else the reason it failed.</summary>
/// <param name="Path">The input.</param>
/// <param name="Geometry">The image's plan, or null when it failed.</param>
/// <param name="Error">Why it failed, or null.</param>
public sealed record ImageFileResult(string Path, ImageGeometry? Geometry, string? Error);
