namespace NanoVlm.Packing.Internal;

/// <summary>Grow-only scratch arrays: planners keep them, so steady-state planning allocates nothing.</summary>
internal static class Scratch
{
    public static void Ensure<T>(ref T[] array, int size)
    {
        if (array.Length < size)
            array = new T[Math.Max(size, (int)Math.Min(Array.MaxLength, array.Length * 2L))];
    }
}
