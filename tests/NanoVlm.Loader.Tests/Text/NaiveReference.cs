using NanoVlm.Loader.Text;

namespace NanoVlm.Loader.Tests.Text;

/// <summary>The text path of docs/nanovlm-compat.md written the slow, obvious way (nanoVLM's algorithm): build message strings, render the
/// whole conversation, tokenize it, then re-tokenize each message to find the assistant spans.</summary>
internal static class NaiveReference
{
    public static List<ChatMessage> Messages(IEnumerable<ChatTurn> turns, ImageGrid[] grids)
    {
        var messages = new List<ChatMessage>();
        foreach (var t in turns)
        {
            messages.Add(new ChatMessage("user", t.User.ToString().Replace("<|image|>", "")));
            messages.Add(new ChatMessage("assistant", t.Assistant.ToString().Replace("<|image|>", "")));
        }
        if (grids.Length > 0 && messages.Count > 0)
            messages[0] = messages[0] with { Content = ImageTokenString.Build(grids) + messages[0].Content };
        return messages;
    }

    public static (int[] Ids, byte[] Mask, int[] Labels) Prepare(VlmTokenizer tok, IReadOnlyList<ChatMessage> messages)
    {
        int[] ids = tok.EncodeToIds(ChatTemplate.Render(messages));
        string probe = ChatTemplate.Render([new ChatMessage("assistant", "xzyvd")]);
        int prefixLen = tok.EncodeToIds(probe.Substring(0, probe.IndexOf("xzyvd", StringComparison.Ordinal))).Length;
        var mask = new byte[ids.Length];
        int cursor = 0;
        foreach (var m in messages)
        {
            int seg = tok.EncodeToIds(ChatTemplate.Render([m])).Length;
            if (m.Role == "assistant")
                for (int k = cursor + prefixLen; k < cursor + seg; k++) mask[k] = 1;
            cursor += seg;
        }
        Assert.Equal(ids.Length, cursor);
        var labels = new int[ids.Length];
        for (int i = 0; i < ids.Length; i++) labels[i] = mask[i] == 1 ? ids[i] : -100;
        // roll(-1), last = -100
        var shifted = new int[ids.Length];
        for (int i = 0; i < ids.Length - 1; i++) shifted[i] = labels[i + 1];
        if (ids.Length > 0) shifted[^1] = -100;
        return (ids, mask, shifted);
    }
}
