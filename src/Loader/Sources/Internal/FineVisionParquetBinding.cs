using Parquet.Schema;

namespace NanoVlm.Loader.Sources.Internal;

/// <summary>
/// The columns of a FineVision-layout parquet file bound by name: <c>texts</c> (required), <c>images</c>,
/// <c>source</c> and the four rating lists (optional). Column order and struct field order do not matter.
/// </summary>
internal sealed class FineVisionParquetBinding
{
    /// <summary>The four per-turn rating lists, in <see cref="Ratings"/> order.</summary>
    public static readonly string[] RatingColumns =
        ["relevance_ratings", "image_correspondence_ratings", "visual_dependency_ratings", "formatting_ratings"];

    private FineVisionParquetBinding(Leaf user, Leaf assistant, Leaf? imageBytes, Leaf? source, Leaf?[] ratings)
    {
        TextsUser = user;
        TextsAssistant = assistant;
        ImageBytes = imageBytes;
        Source = source;
        Ratings = ratings;
    }

    /// <summary><c>texts[].user</c>.</summary>
    public Leaf TextsUser { get; }

    /// <summary><c>texts[].assistant</c>.</summary>
    public Leaf TextsAssistant { get; }

    /// <summary><c>images[].bytes</c> (or the elements of a plain binary list), null when the file has no images.</summary>
    public Leaf? ImageBytes { get; }

    /// <summary>The top-level <c>source</c> string, when present.</summary>
    public Leaf? Source { get; }

    /// <summary>The rating lists in <see cref="RatingColumns"/> order; null where absent.</summary>
    public Leaf?[] Ratings { get; }

    /// <summary>All bound leaves (for metadata checks).</summary>
    public IEnumerable<Leaf> Leaves
    {
        get
        {
            yield return TextsUser;
            yield return TextsAssistant;
            if (ImageBytes is { } b) yield return b;
            if (Source is { } s) yield return s;
            foreach (var r in Ratings)
                if (r is { } leaf) yield return leaf;
        }
    }

    /// <summary>A bound leaf: the field to read, the column name for messages, its level thresholds.</summary>
    internal sealed record Leaf(DataField Field, string Column, LeafLevels Levels);

    /// <summary>Binds the schema or throws a <see cref="DataSourceException"/> naming the offending column.</summary>
    public static FineVisionParquetBinding Bind(ParquetSchema schema, string shard)
    {
        Field? Top(string name) => schema.Fields.FirstOrDefault(f => f.Name == name);

        const string textsExpected = "list<struct<user: string, assistant: string>>";
        var texts = Top("texts") ?? throw new DataSourceException(shard,
            $"required column is missing (expected {textsExpected}; columns: {string.Join(", ", schema.Fields.Select(f => f.Name))})",
            column: "texts");
        if (texts is not ListField { Item: StructField turn } textsList)
            throw WrongType(shard, "texts", textsExpected, texts);
        var user = StringMember(shard, textsList, turn, "user", textsExpected);
        var assistant = StringMember(shard, textsList, turn, "assistant", textsExpected);

        Leaf? imageBytes = null;
        if (Top("images") is { } images)
        {
            const string imagesExpected = "list<struct<bytes: binary, path: string>>";
            imageBytes = images switch
            {
                ListField { Item: StructField img } l when img.Fields.FirstOrDefault(f => f.Name == "bytes") is DataField b
                    && IsBinary(b.ClrType) => ListLeaf(l, b, "images.bytes"),
                ListField { Item: DataField b } l when IsBinary(b.ClrType) => ListLeaf(l, b, "images"),
                _ => throw WrongType(shard, "images", imagesExpected, images),
            };
        }

        Leaf? source = null;
        if (Top("source") is { } s)
        {
            if (s is not DataField { ClrType: var t } sf || !IsString(t) || sf.MaxRepetitionLevel != 0)
                throw WrongType(shard, "source", "string", s);
            source = new Leaf(sf, "source", new LeafLevels(sf.MaxDefinitionLevel, 0, sf.MaxDefinitionLevel, 0));
        }

        var ratings = new Leaf?[RatingColumns.Length];
        for (var i = 0; i < RatingColumns.Length; i++)
        {
            if (Top(RatingColumns[i]) is not { } r) continue;
            ratings[i] = r is ListField { Item: DataField { ClrType: var rt } e } rl && (rt == typeof(long) || rt == typeof(int))
                ? ListLeaf(rl, e, RatingColumns[i])
                : throw WrongType(shard, RatingColumns[i], "list<int64>", r);
        }
        var binding = new FineVisionParquetBinding(user, assistant, imageBytes, source, ratings);
        // Lists nested inside these lists (more than one level of repetition) are not the FineVision layout.
        foreach (var leaf in binding.Leaves)
            if (leaf.Levels.MaxRepetition > 1)
                throw WrongType(shard, leaf.Column, "one level of lists", Top(leaf.Column.Split('.')[0])!);
        return binding;
    }

    private static Leaf StringMember(string shard, ListField list, StructField item, string name, string expected)
    {
        var column = $"{list.Name}.{name}";
        return item.Fields.FirstOrDefault(f => f.Name == name) switch
        {
            DataField { ClrType: var t } f when IsString(t) && f.MaxRepetitionLevel == list.MaxRepetitionLevel =>
                ListLeaf(list, f, column),
            null => throw new DataSourceException(shard,
                $"struct field '{name}' is missing (expected {expected}; fields: {string.Join(", ", item.Fields.Select(f => f.Name))})",
                column: column),
            var other => throw WrongType(shard, column, "string", other),
        };
    }

    // One level of repetition: the list's own definition level says "an element exists", one less "the list is non-null".
    private static Leaf ListLeaf(ListField list, DataField leaf, string column) =>
        new(leaf, column, new LeafLevels(list.MaxDefinitionLevel - 1, list.MaxDefinitionLevel, leaf.MaxDefinitionLevel,
            leaf.MaxRepetitionLevel));

    private static DataSourceException WrongType(string shard, string column, string expected, Field found) =>
        new(shard, $"wrong type: expected {expected}, found {Describe(found)}", column: column);

    /// <summary>A short type description of a schema field for messages.</summary>
    internal static string Describe(Field f) => f switch
    {
        ListField l => $"list<{Describe(l.Item)}>",
        StructField s => $"struct<{string.Join(", ", s.Fields.Select(x => $"{x.Name}: {Describe(x)}"))}>",
        MapField => "map",
        DataField d when IsBinary(d.ClrType) => d.IsArray ? "list<binary>" : "binary",
        DataField d => d.IsArray ? $"list<{TypeName(d.ClrType)}>" : TypeName(d.ClrType),
        _ => f.SchemaType.ToString(),
    };

    // Parquet.Net 6 reports UTF-8 and binary columns as ReadOnlyMemory<char> / ReadOnlyMemory<byte> when reading.
    private static bool IsString(Type t) => t == typeof(string) || t == typeof(ReadOnlyMemory<char>);

    private static bool IsBinary(Type t) => t == typeof(byte[]) || t == typeof(ReadOnlyMemory<byte>);

    private static string TypeName(Type t) =>
        IsString(t) ? "string" : t == typeof(long) ? "int64" : t == typeof(int) ? "int32" : t.Name;
}
