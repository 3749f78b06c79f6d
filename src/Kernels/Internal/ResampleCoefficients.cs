using System.Buffers;

namespace NanoVlm.Kernels.Internal;

/// <summary>
/// Pillow 9.4 <c>precompute_coeffs</c> + <c>normalize_coeffs_8bpc</c> for the BICUBIC filter (a = −0.5, support 2,
/// widened by the scale when downscaling), box = the whole image. Double math in Pillow's operation order, then
/// fixed point with <see cref="PrecisionBits"/> fractional bits rounded half away from zero. Arrays are rented.
/// </summary>
internal struct ResampleCoefficients
{
    /// <summary>Pillow's PRECISION_BITS = 32 − 8 − 2.</summary>
    public const int PrecisionBits = 32 - 8 - 2;

    /// <summary>Rounding bias added to every accumulator (1 &lt;&lt; (PRECISION_BITS − 1)).</summary>
    public const int Half = 1 << (PrecisionBits - 1);

    /// <summary>Pairs (xmin, xsize) per output index.</summary>
    public int[] Bounds;

    /// <summary>Fixed-point coefficients, <see cref="KSize"/> per output index (zero padded).</summary>
    public int[] Coeffs;

    /// <summary>Coefficients per output index.</summary>
    public int KSize;

    /// <summary>Output size.</summary>
    public int OutSize;

    public static double Bicubic(double x)
    {
        const double a = -0.5;
        if (x < 0.0) x = -x;
        if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
        if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
        return 0.0;
    }

    public static ResampleCoefficients Compute(int inSize, int outSize)
    {
        // Pillow: in0 = 0.0f, in1 = (float)inSize; scale = (double)(in1 - in0) / outSize (float subtraction).
        float in0 = 0f, in1 = inSize;
        double scale = (double)(in1 - in0) / outSize;
        double filterscale = scale < 1.0 ? 1.0 : scale;
        double support = 2.0 * filterscale;
        int ksize = (int)Math.Ceiling(support) * 2 + 1;
        if ((long)outSize * ksize > Array.MaxLength)
            throw new ImageSizeException(ImageSizeError.Overflow, inSize, outSize, "Resampling coefficient table too large");
        var bounds = ArrayPool<int>.Shared.Rent(outSize * 2);
        var coeffs = ArrayPool<int>.Shared.Rent(outSize * ksize);
        var k = ArrayPool<double>.Shared.Rent(ksize);
        try
        {
            for (int xx = 0; xx < outSize; xx++)
            {
                double center = in0 + (xx + 0.5) * scale;
                double ww = 0.0;
                double ss = 1.0 / filterscale;
                int xmin = (int)(center - support + 0.5);
                if (xmin < 0) xmin = 0;
                int xmax = (int)(center + support + 0.5);
                if (xmax > inSize) xmax = inSize;
                xmax -= xmin;
                for (int x = 0; x < xmax; x++)
                {
                    double w = Bicubic((x + xmin - center + 0.5) * ss);
                    k[x] = w;
                    ww += w;
                }
                int baseIdx = xx * ksize;
                for (int x = 0; x < xmax; x++)
                {
                    double v = ww != 0.0 ? k[x] / ww : k[x];
                    coeffs[baseIdx + x] = v < 0
                        ? (int)(-0.5 + v * (1 << PrecisionBits))
                        : (int)(0.5 + v * (1 << PrecisionBits));
                }
                for (int x = xmax; x < ksize; x++) coeffs[baseIdx + x] = 0;
                bounds[xx * 2] = xmin;
                bounds[xx * 2 + 1] = xmax;
            }
        }
        finally
        {
            ArrayPool<double>.Shared.Return(k);
        }
        return new ResampleCoefficients { Bounds = bounds, Coeffs = coeffs, KSize = ksize, OutSize = outSize };
    }

    public void Return()
    {
        if (Bounds != null) ArrayPool<int>.Shared.Return(Bounds);
        if (Coeffs != null) ArrayPool<int>.Shared.Return(Coeffs);
        Bounds = null!;
        Coeffs = null!;
    }
}

/// <summary>
/// torch 1.13 <c>_compute_weights_aa</c> for the antialiased bilinear filter with float32 <c>scalar_t</c>
/// (align_corners = false, no explicit scale). Mixed float/double promotions replicate the C++ expression types.
/// </summary>
internal struct AntialiasWeights
{
    /// <summary>Pairs (xmin, xsize) per output index.</summary>
    public int[] Bounds;

    /// <summary>Weights, <see cref="KSize"/> per output index (zero padded).</summary>
    public float[] Weights;

    /// <summary>Weights per output index (torch's interp_size).</summary>
    public int KSize;

    public static float Filter(float x)
    {
        if (x < 0.0f) x = -x;
        if (x < 1.0f) return (float)(1.0 - x);
        return 0.0f;
    }

    public static AntialiasWeights Compute(int inSize, int outSize)
    {
        float scale = (float)inSize / outSize;                         // area_pixel_compute_scale<float>
        float support = scale >= 1.0f ? (float)((2 * 0.5) * scale) : (float)(2 * 0.5);
        int ksize = (int)MathF.Ceiling(support) * 2 + 1;
        float invscale = scale >= 1.0f ? (float)(1.0 / scale) : 1.0f;
        var bounds = ArrayPool<int>.Shared.Rent(outSize * 2);
        var wts = ArrayPool<float>.Shared.Rent(outSize * ksize);
        for (int i = 0; i < outSize; i++)
        {
            float center = (float)(scale * (i + 0.5));
            float total = 0.0f;
            long xmin = Math.Max((long)(center - support + 0.5), 0L);
            long xsize = Math.Min((long)(center + support + 0.5), inSize) - xmin;
            int b = i * ksize;
            int j = 0;
            for (; j < xsize; j++)
            {
                float w = Filter((float)(((float)(j + xmin) - center + 0.5) * invscale));
                wts[b + j] = w;
                total += w;
            }
            for (j = 0; j < xsize; j++)
                if (total != 0.0f) wts[b + j] /= total;
            for (; j < ksize; j++) wts[b + j] = 0.0f;
            bounds[2 * i] = (int)xmin;
            bounds[2 * i + 1] = (int)xsize;
        }
        return new AntialiasWeights { Bounds = bounds, Weights = wts, KSize = ksize };
    }

    public void Return()
    {
        if (Bounds != null) ArrayPool<int>.Shared.Return(Bounds);
        if (Weights != null) ArrayPool<float>.Shared.Return(Weights);
        Bounds = null!;
        Weights = null!;
    }
}
