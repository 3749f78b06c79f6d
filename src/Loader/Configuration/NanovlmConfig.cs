using System.Text.Json;
using NanoVlm.Kernels;
using NanoVlm.Loader.Images;
using NanoVlm.Loader.Pipeline;
using NanoVlm.Packing;

namespace NanoVlm.Loader.Configuration;

/// <summary>
/// A configuration file in nanoVLM's terms: one JSON object whose keys are the field names of nanoVLM's
/// <c>VLMConfig</c> and <c>TrainConfig</c> (e.g. <c>{"lm_max_length": 2048, "max_images_per_knapsack": 12}</c>).
/// Every field of both classes is accepted (the data path applies its own; training and evaluation read the rest);
/// an unknown key is an error naming it and the closest known key. Keys the file leaves out keep the defaults of the
/// options record it is applied to, so the defaults live in one place: the options records.
/// </summary>
public sealed class NanovlmConfig
{
    private readonly Dictionary<string, JsonElement> _values;

    private NanovlmConfig(string source, Dictionary<string, JsonElement> values)
    {
        Source = source;
        _values = values;
    }

    /// <summary>An empty configuration (every option keeps its default).</summary>
    public static NanovlmConfig Empty { get; } = new("(no config)", []);

    /// <summary>The fields of nanoVLM's <c>VLMConfig</c> and <c>TrainConfig</c> (a configuration may also hold
    /// <see cref="FineTuningKeys"/>).</summary>
    public static IReadOnlyCollection<string> KnownKeys => NanovlmConfigKeys.Nanovlm;

    /// <summary>NanoVlm.NET's own training keys, accepted next to nanoVLM's (nanoVLM has no such fields):
    /// <c>lora_rank</c>, <c>lora_alpha</c>, <c>lora_dropout</c>, <c>lora_target_modules</c>, <c>freeze_vision_backbone</c>,
    /// <c>freeze_mp</c>, <c>freeze_language_backbone</c>, <c>train_eval_batches</c>, <c>train_mixture</c>, <c>precision</c>.</summary>
    public static IReadOnlyList<string> FineTuningKeys => NanovlmConfigKeys.FineTuning;

    /// <summary>Where the configuration came from (the file path).</summary>
    public string Source { get; }

    /// <summary>The keys the configuration sets.</summary>
    public IReadOnlyCollection<string> Keys => _values.Keys;

    /// <summary>Reads a configuration file.</summary>
    /// <param name="path">A JSON file holding one object.</param>
    /// <exception cref="ConfigFileException">Unreadable, not a JSON object, or an unknown key.</exception>
    public static NanovlmConfig Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        string json;
        try
        {
            json = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigFileException(path, null, $"cannot be read ({e.Message})", e);
        }
        return Parse(json, path);
    }

    /// <summary>Parses a configuration from JSON text.</summary>
    /// <param name="json">One JSON object.</param>
    /// <param name="source">Named in errors (the file path).</param>
    /// <exception cref="ConfigFileException">Not a JSON object, or an unknown key.</exception>
    public static NanovlmConfig Parse(string json, string source)
    {
        ArgumentNullException.ThrowIfNull(json);
        ArgumentNullException.ThrowIfNull(source);
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            throw new ConfigFileException(source, null, $"not valid JSON (line {e.LineNumber + 1}: {e.Message})", e);
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new ConfigFileException(source, null, $"expected a JSON object of nanoVLM config fields, found {doc.RootElement.ValueKind}");
            var values = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
            foreach (var p in doc.RootElement.EnumerateObject())
            {
                if (!NanovlmConfigKeys.All.Contains(p.Name))
                    throw new ConfigFileException(source, p.Name,
                        $"not a field of nanoVLM's VLMConfig or TrainConfig, nor a NanoVlm.NET fine-tuning key (did you mean \"{NanovlmConfigKeys.Closest(p.Name)}\"?)");
                if (!values.TryAdd(p.Name, p.Value.Clone())) throw new ConfigFileException(source, p.Name, "given twice");
            }
            return new NanovlmConfig(source, values);
        }
    }

    /// <summary>The raw JSON value of <paramref name="key"/> if the configuration sets it (for the fields other
    /// layers apply: the model's and the training loop's).</summary>
    /// <param name="key">A VLMConfig or TrainConfig field name.</param>
    /// <param name="value">The value.</param>
    /// <returns>Whether the key is set.</returns>
    public bool TryGetValue(string key, out JsonElement value) => _values.TryGetValue(key, out value);

    /// <summary>The loader options with this configuration's data-path fields applied: <c>lm_max_length</c>,
    /// <c>max_sample_length</c>, <c>max_images_per_example</c>, <c>max_images_per_knapsack</c>, <c>batch_size</c>,
    /// <c>mp_image_token_length</c>, the four <c>*_min_rating</c> and the image fields of
    /// <see cref="ApplyTo(ImagePipelineOptions)"/>.</summary>
    /// <exception cref="ConfigFileException">A value of the wrong type.</exception>
    public DataLoaderOptions ApplyTo(DataLoaderOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var q = options.QualityFilter;
        return options with
        {
            LmMaxLength = Int("lm_max_length", options.LmMaxLength),
            MaxSampleLength = Int("max_sample_length", options.MaxSampleLength),
            MaxImagesPerExample = Int("max_images_per_example", options.MaxImagesPerExample),
            MaxImagesPerKnapsack = Int("max_images_per_knapsack", options.MaxImagesPerKnapsack),
            BatchSize = Int("batch_size", options.BatchSize),
            ImageTokenLength = Int("mp_image_token_length", options.ImageTokenLength),
            QualityFilter = q with
            {
                RelevanceMinRating = Int("relevance_min_rating", q.RelevanceMinRating),
                ImageCorrespondenceMinRating = Int("image_correspondence_min_rating", q.ImageCorrespondenceMinRating),
                VisualDependencyMinRating = Int("visual_dependency_min_rating", q.VisualDependencyMinRating),
                FormattingMinRating = Int("formatting_min_rating", q.FormattingMinRating),
            },
            Images = ApplyTo(options.Images),
        };
    }

    /// <summary>The image options with <c>vit_img_size</c>, <c>max_img_size</c> and <c>resize_to_max_side_len</c> applied.</summary>
    /// <exception cref="ConfigFileException">A value of the wrong type.</exception>
    public ImagePipelineOptions ApplyTo(ImagePipelineOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options with
        {
            SplitSize = Int("vit_img_size", options.SplitSize),
            MaxSideLength = Int("max_img_size", options.MaxSideLength),
            ResizeToMaxSide = Bool("resize_to_max_side_len", options.ResizeToMaxSide),
        };
    }

    /// <summary>The packing options with <c>lm_max_length</c> (sequence length) and <c>max_images_per_knapsack</c> applied.</summary>
    /// <exception cref="ConfigFileException">A value of the wrong type.</exception>
    public PackingOptions ApplyTo(PackingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options with
        {
            SequenceLength = Int("lm_max_length", options.SequenceLength),
            MaxImagesPerPack = Int("max_images_per_knapsack", options.MaxImagesPerPack),
        };
    }

    private int Int(string key, int fallback)
    {
        if (!_values.TryGetValue(key, out var v)) return fallback;
        if (v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var i)) return i;
        throw new ConfigFileException(Source, key, $"expected an integer, found {Describe(v)}");
    }

    private bool Bool(string key, bool fallback)
    {
        if (!_values.TryGetValue(key, out var v)) return fallback;
        return v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw new ConfigFileException(Source, key, $"expected true or false, found {Describe(v)}"),
        };
    }

    private static string Describe(JsonElement v) => v.ValueKind == JsonValueKind.String ? $"the string {v.GetRawText()}" : v.GetRawText();
}
