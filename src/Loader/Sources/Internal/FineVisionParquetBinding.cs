using ParquetSharp;
using ParquetSharp.Schema;

namespace NanoVlm.Loader.Sources.Internal;

/// <summary>
/// The columns of a FineVision-layout parquet file bound by name: <c>texts</c> (required), <c>images</c>,
/// <c>source</c> and the four rating lists (optional). Column order and struct field order do not matter. Lists are
/// recognised as the parquet format's LogicalTypes.md describes them (three-level lists with any element name, and
/// the two-level form older writers use).
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

    /// <summary>A bound leaf: its column index in the file, the column name for messages, its level thresholds and
    /// physical type.</summary>
    internal sealed record Leaf(int ColumnIndex, string Column, LeafLevels Levels, PhysicalType Type);

    /// <summary>Binds the schema or throws a <see cref="DataSourceException"/> naming the offending column.</summary>
    public static FineVisionParquetBinding Bind(SchemaDescriptor schema, string shard)
    {
        var top = schema.GroupNode.Fields;
        Node? Top(string name) => top.FirstOrDefault(f => f.Name == name);

        const string textsExpected = "list<struct<user: string, assistant: string>>";
        var texts = Top("texts") ?? throw new DataSourceException(shard,
            $"required column is missing (expected {textsExpected}; columns: {string.Join(", ", top.Select(f => f.Name))})",
            column: "texts");
        if (ListElement(texts) is not GroupNode turn)
            throw WrongType(shard, "texts", textsExpected, texts);
        var user = StringMember(schema, shard, texts, turn, "user", textsExpected);
        var assistant = StringMember(schema, shard, texts, turn, "assistant", textsExpected);

        Leaf? imageBytes = null;
        if (Top("images") is { } images)
        {
            const string imagesExpected = "list<struct<bytes: binary, path: string>>";
            imageBytes = ListElement(images) switch
            {
                GroupNode img when img.Fields.FirstOrDefault(f => f.Name == "bytes") is PrimitiveNode b && IsBinary(b) =>
                    ListLeaf(schema, images, b, "images.bytes"),
                PrimitiveNode b when IsBinary(b) => ListLeaf(schema, images, b, "images"),
                _ => throw WrongType(shard, "images", imagesExpected, images),
            };
        }

        Leaf? source = null;
        if (Top("source") is { } s)
        {
            if (s is not PrimitiveNode sp || !IsString(sp) || s.Repetition == Repetition.Repeated)
                throw WrongType(shard, "source", "string", s);
            var def = s.Repetition == Repetition.Optional ? 1 : 0;
            source = new Leaf(schema.ColumnIndex(sp), "source", new LeafLevels(def, def, def, 0), PhysicalType.ByteArray);
        }

        var ratings = new Leaf?[RatingColumns.Length];
        for (var i = 0; i < RatingColumns.Length; i++)
        {
            if (Top(RatingColumns[i]) is not { } r) continue;
            ratings[i] = ListElement(r) is PrimitiveNode { PhysicalType: PhysicalType.Int64 or PhysicalType.Int32 } e && IsInteger(e)
                ? ListLeaf(schema, r, e, RatingColumns[i])
                : throw WrongType(shard, RatingColumns[i], "list<int64>", r);
        }
        var binding = new FineVisionParquetBinding(user, assistant, imageBytes, source, ratings);
        // A repeated field inside the list's element is a second level of lists, not the FineVision layout.
        foreach (var leaf in new[] { user, assistant, imageBytes, source }.Concat(ratings))
            if (leaf is { Levels.MaxRepetition: > 1 })
                throw WrongType(shard, leaf.Column, "one level of lists", Top(leaf.Column.Split('.')[0])!);
        return binding;
    }

    /// <summary>The element node of a one-level list column, or null when <paramref name="node"/> is not one.</summary>
    private static Node? ListElement(Node node)
    {
        if (node is not GroupNode { FieldCount: 1 } list || node.Repetition == Repetition.Repeated) return null;
        if (list.LogicalType.Type != LogicalTypeEnum.List && list.ConvertedType != ConvertedType.List) return null;
        var repeated = list.Field(0);
        if (repeated.Repetition != Repetition.Repeated) return null;
        // LogicalTypes.md "Backward-compatibility rules": a repeated primitive, a repeated group of several fields,
        // or one named "array" / "<list>_tuple" is the element itself (two-level lists); otherwise its only field is.
        if (repeated is not GroupNode { FieldCount: 1 } middle || repeated.Name == "array" || repeated.Name == node.Name + "_tuple")
            return repeated is GroupNode or PrimitiveNode ? repeated : null;
        var element = middle.Field(0);
        // Lists nested inside the element (a second level of repetition) are not the FineVision layout.
        return element.Repetition == Repetition.Repeated ? null : element;
    }

    private static Leaf StringMember(SchemaDescriptor schema, string shard, Node list, GroupNode item, string name, string expected)
    {
        var column = $"{list.Name}.{name}";
        return item.Fields.FirstOrDefault(f => f.Name == name) switch
        {
            PrimitiveNode f when IsString(f) => ListLeaf(schema, list, f, column),
            null => throw new DataSourceException(shard,
                $"struct field '{name}' is missing (expected {expected}; fields: {string.Join(", ", item.Fields.Select(f => f.Name))})",
                column: column),
            var other => throw WrongType(shard, column, "string", other),
        };
    }

    // One level of repetition: the list node's own definition level says "the list is non-null", one more (the
    // repeated node) "an element exists"; the leaf's max definition level "the value is non-null".
    private static Leaf ListLeaf(SchemaDescriptor schema, Node list, PrimitiveNode leaf, string column)
    {
        var index = schema.ColumnIndex(leaf);
        var descriptor = schema.Column(index);
        var listNonNull = list.Repetition == Repetition.Optional ? 1 : 0;
        return new Leaf(index, column,
            new LeafLevels(listNonNull, listNonNull + 1, descriptor.MaxDefinitionLevel, descriptor.MaxRepetitionLevel),
            leaf.PhysicalType);
    }

    private static DataSourceException WrongType(string shard, string column, string expected, Node found) =>
        new(shard, $"wrong type: expected {expected}, found {Describe(found)}", column: column);

    /// <summary>A short type description of a schema node for messages.</summary>
    internal static string Describe(Node node)
    {
        var inner = node switch
        {
            GroupNode g when ListElement(g) is { } e => $"list<{Describe(e)}>",
            GroupNode g when g.LogicalType.Type == LogicalTypeEnum.Map || g.ConvertedType == ConvertedType.Map => "map",
            GroupNode g => $"struct<{string.Join(", ", g.Fields.Select(f => $"{f.Name}: {Describe(f)}"))}>",
            PrimitiveNode p when IsString(p) => "string",
            PrimitiveNode { PhysicalType: PhysicalType.ByteArray } => "binary",
            PrimitiveNode { PhysicalType: PhysicalType.Int64 } => "int64",
            PrimitiveNode { PhysicalType: PhysicalType.Int32 } => "int32",
            PrimitiveNode p => p.PhysicalType.ToString().ToLowerInvariant(),
            _ => node.NodeType.ToString(),
        };
        return node.Repetition == Repetition.Repeated ? $"repeated {inner}" : inner;
    }

    private static bool IsString(PrimitiveNode p) => p.PhysicalType == PhysicalType.ByteArray
        && (p.LogicalType.Type is LogicalTypeEnum.String or LogicalTypeEnum.Json or LogicalTypeEnum.Enum
            || p.ConvertedType == ConvertedType.UTF8);

    private static bool IsBinary(PrimitiveNode p) => p.PhysicalType == PhysicalType.ByteArray && !IsString(p);

    private static bool IsInteger(PrimitiveNode p) => p.LogicalType.Type is LogicalTypeEnum.None or LogicalTypeEnum.Int;
}
