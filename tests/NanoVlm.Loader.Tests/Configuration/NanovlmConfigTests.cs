using NanoVlm.Kernels;
using NanoVlm.Loader.Configuration;
using NanoVlm.Loader.Images;
using NanoVlm.Loader.Pipeline;
using NanoVlm.Packing;
using NanoVlm.Testing;

namespace NanoVlm.Loader.Tests.Configuration;

public sealed class NanovlmConfigTests
{
    /// <summary>Every field of nanoVLM's VLMConfig and TrainConfig, read from its models/config.py by
    /// tools/make_config_fields.py.</summary>
    private static readonly string[] s_nanovlmFields = File.ReadAllLines(Fixtures.Path("nanovlm_config_fields.txt"))
        .Where(l => !l.StartsWith('#') && l.Length > 0).Select(l => l.Split(' ')[1]).ToArray();

    [Fact]
    public void TheKnownKeysAreExactlyNanovlmsConfigFields()
    {
        Assert.True(s_nanovlmFields.Length > 60);
        Assert.Equal(s_nanovlmFields.Order(StringComparer.Ordinal), NanovlmConfig.KnownKeys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void TheFineTuningKeysAreAcceptedAndAreNotNanovlmFields()
    {
        Assert.Contains("lora_rank", NanovlmConfig.FineTuningKeys);
        Assert.Empty(NanovlmConfig.FineTuningKeys.Intersect(s_nanovlmFields));
        var config = NanovlmConfig.Parse("{" + string.Join(",", NanovlmConfig.FineTuningKeys.Select(k => $"\"{k}\": 1")) + "}", "ft.json");
        Assert.Equal(NanovlmConfig.FineTuningKeys.Count, config.Keys.Count);
        var e = Assert.Throws<ConfigFileException>(() => NanovlmConfig.Parse("""{"lora_rnk": 8}""", "ft.json"));
        Assert.Contains("lora_rnk", e.Message);
        Assert.Contains("lora_rank", e.Message);
    }

    [Fact]
    public void EveryFieldIsAccepted_TrainingAndGenerationFieldsIncluded_AndDataFieldsLeaveTheRestAlone()
    {
        // Values of the fields' own kinds; the fields the data path does not use are accepted and ignored.
        var json = "{" + string.Join(",", s_nanovlmFields.Select(f => f switch
        {
            "lm_max_length" => "\"lm_max_length\": 2048",
            "resize_to_max_side_len" => "\"resize_to_max_side_len\": false",
            _ when f.EndsWith("_rating", StringComparison.Ordinal) || f.StartsWith("max_", StringComparison.Ordinal)
                || f is "batch_size" or "vit_img_size" or "mp_image_token_length" => $"\"{f}\": 3",
            _ => $"\"{f}\": \"anything\"",
        })) + "}";
        var config = NanovlmConfig.Parse(json, "all.json");
        Assert.Equal(s_nanovlmFields.Length, config.Keys.Count);
        var o = config.ApplyTo(new DataLoaderOptions());
        Assert.Equal(2048, o.LmMaxLength);
        Assert.Equal(3, o.MaxSampleLength);
        Assert.Equal(3, o.BatchSize);
        Assert.Equal(3, o.MaxImagesPerKnapsack);
        Assert.Equal(3, o.QualityFilter.FormattingMinRating);
        Assert.False(o.Images.ResizeToMaxSide);
        Assert.Equal(new DataLoaderOptions().Workers, o.Workers);
    }

    [Fact]
    public void EachDataFieldLandsInItsOption_AndAbsentFieldsKeepTheLibraryDefaults()
    {
        var d = new DataLoaderOptions();
        Assert.Equal(d, NanovlmConfig.Empty.ApplyTo(d));
        var config = NanovlmConfig.Parse("""
            {
              // comments and trailing commas are allowed
              "lm_max_length": 1024, "max_sample_length": 900, "max_images_per_example": 2, "max_images_per_knapsack": 7,
              "batch_size": 4, "mp_image_token_length": 16, "vit_img_size": 256, "max_img_size": 1024,
              "resize_to_max_side_len": false, "relevance_min_rating": 2, "image_correspondence_min_rating": 3,
              "visual_dependency_min_rating": 4, "formatting_min_rating": 5,
            }
            """, "data.json");
        var o = config.ApplyTo(d);
        Assert.Equal(d with
        {
            LmMaxLength = 1024, MaxSampleLength = 900, MaxImagesPerExample = 2, MaxImagesPerKnapsack = 7, BatchSize = 4, ImageTokenLength = 16,
            Images = d.Images with { SplitSize = 256, MaxSideLength = 1024, ResizeToMaxSide = false },
            QualityFilter = new() { RelevanceMinRating = 2, ImageCorrespondenceMinRating = 3, VisualDependencyMinRating = 4, FormattingMinRating = 5 },
        }, o);
        Assert.Equal(new PackingOptions { SequenceLength = 1024, MaxImagesPerPack = 7 }, config.ApplyTo(new PackingOptions()));
        Assert.Equal(ImagePipelineOptions.Default with { SplitSize = 256, MaxSideLength = 1024, ResizeToMaxSide = false },
            config.ApplyTo(ImagePipelineOptions.Default));
    }

    [Theory]
    [InlineData("lm_max_lenght", "lm_max_length")]
    [InlineData("max_images_per_sample", "max_images_per_example")]
    [InlineData("relevance_min", "relevance_min_rating")]
    [InlineData("batchsize", "batch_size")]
    public void AnUnknownKeyIsAnErrorNamingItTheFileAndTheClosestKnownKey(string key, string closest)
    {
        var e = Assert.Throws<ConfigFileException>(() => NanovlmConfig.Parse($$"""{"batch_size": 2, "{{key}}": 1}""", "run.json"));
        Assert.Equal(key, e.Key);
        Assert.Equal("run.json", e.File);
        Assert.Contains("run.json", e.Message);
        Assert.Contains($"\"{key}\"", e.Message);
        Assert.Contains($"did you mean \"{closest}\"", e.Message);
    }

    [Theory]
    [InlineData("""{"batch_size": "2"}""", "batch_size", "expected an integer")]
    [InlineData("""{"lm_max_length": 4096.5}""", "lm_max_length", "expected an integer")]
    [InlineData("""{"resize_to_max_side_len": 1}""", "resize_to_max_side_len", "expected true or false")]
    public void AValueOfTheWrongTypeIsAnErrorNamingTheKey(string json, string key, string problem)
    {
        var config = NanovlmConfig.Parse(json, "typed.json");
        var e = Assert.Throws<ConfigFileException>(() => config.ApplyTo(new DataLoaderOptions()));
        Assert.Equal(key, e.Key);
        Assert.Contains("typed.json", e.Message);
        Assert.Contains(problem, e.Message);
    }

    [Theory]
    [InlineData("[1, 2]", "expected a JSON object")]
    [InlineData("{\"batch_size\": ", "not valid JSON")]
    [InlineData("{\"batch_size\": 1, \"batch_size\": 2}", "given twice")]
    public void AFileThatIsNotOneObjectOfFieldsIsAnError(string json, string problem)
    {
        var e = Assert.Throws<ConfigFileException>(() => NanovlmConfig.Parse(json, "bad.json"));
        Assert.StartsWith("bad.json: ", e.Message);
        Assert.Contains(problem, e.Message);
    }

    [Fact]
    public void AMissingFileIsAnErrorNamingIt()
    {
        var path = Path.Combine(Path.GetTempPath(), $"nanovlm-no-such-config-{Guid.NewGuid():N}.json");
        var e = Assert.Throws<ConfigFileException>(() => NanovlmConfig.Load(path));
        Assert.Contains(path, e.Message);
    }
}
