namespace NanoVlm.Loader.Pipeline;

/// <summary>How a pack's slab carries the image tiles (see <see cref="PackLayout"/>).</summary>
public enum TileFormat
{
    /// <summary>
    /// The grid tiles as the resized RGB bytes ([n, 3, S, S] uint8), the global tiles as float32 in a region of their
    /// own. The consumer divides the bytes by 255 in float32 where the tiles are used (the Engine does it on the device),
    /// which gives nanoVLM's <c>ToTensor</c> values exactly; the global tile is a float resize of the float image
    /// (torchvision's antialiased bilinear), whose values are not bytes over 255, so it keeps float32. A quarter of the
    /// float32 bytes per grid tile: 2.5× to 4× fewer tile bytes per image depending on the grid. The default.
    /// </summary>
    UInt8,

    /// <summary>Every tile as nanoVLM's float32 tensor ([tiles, 3, S, S], global tile first per image), for consumers
    /// that want the model input as it is, without a division of their own.</summary>
    Float32,
}
