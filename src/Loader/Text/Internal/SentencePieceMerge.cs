namespace NanoVlm.Loader.Text.Internal;

/// <summary>
/// A candidate merge of two adjacent symbols in SentencePiece BPE: sentencepiece's <c>SymbolPair</c>
/// (<c>src/bpe_model.cc</c>), plus the merged piece's id. Popped highest score first, the leftmost among equal scores
/// (sentencepiece's <c>SymbolPairComparator</c>).
/// </summary>
internal struct SentencePieceMerge : IHeapOrder<SentencePieceMerge>
{
    public float Score;
    public int Left;
    public int Right;
    /// <summary>Length of the merged piece (chars); a mismatch when popped means the pair is stale.</summary>
    public int Length;
    public int PieceId;

    public static bool Before(in SentencePieceMerge a, in SentencePieceMerge b) =>
        a.Score > b.Score || (a.Score == b.Score && a.Left < b.Left);
}
