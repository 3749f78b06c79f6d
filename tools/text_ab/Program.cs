using System.Diagnostics;
using NanoVlm.Loader.Text;

// A/B harness: min-of-batches time per sample for SamplePreparer.Prepare and VlmTokenizer.EncodeToIds on the
// TextPrepareBenchmarks data (256 samples, seed 42). args: repoRoot tokenizer(default|qwen2_5) seconds
string root = args[0];
var tok = args[1] == "default" ? VlmTokenizer.LoadDefault()
    : VlmTokenizer.FromTokenizerJson(Path.Combine(root, "tests/fixtures/text/qwen2_5/tokenizer.json"), new VlmTokenizerOptions { EosToken = "<|im_end|>" });
double seconds = double.Parse(args[2]);
var rng = new Random(42);
string[] questions = ["How many red circles are in the image?", "What colour is the large square in the top left corner?",
    "Read the text in the image.", "Describe the image in detail.", "What number is written on the sign? Answer with a single number.",
    "Is there a blue triangle to the left of the green star?"];
string[] answers = ["There are 3 red circles.", "The large square is purple.", "The text says \"OPEN 24 HOURS\".",
    "The image shows a small green star in the top left corner, two blue squares in the middle and a red circle on a white background. The shapes do not overlap.",
    "4096", "No, the blue triangle is to the right of the green star."];
const int N = 256;
var samples = new TextSample[N]; var grids = new ImageGrid[N][]; var segs = new string[N][];
for (int i = 0; i < N; i++)
{
    int turns = 1 + rng.Next(3);
    var texts = new ChatTurn[turns]; var s = new List<string>();
    for (int t = 0; t < turns; t++)
    {
        texts[t] = new ChatTurn(questions[rng.Next(questions.Length)], answers[rng.Next(answers.Length)]);
        s.Add("user\n" + texts[t].User.ToString()); s.Add("\n"); s.Add("assistant\n" + texts[t].Assistant.ToString()); s.Add("\n");
    }
    samples[i] = new TextSample { Texts = texts, RelevanceRatings = Enumerable.Repeat<long?>(4, turns).ToArray() };
    grids[i] = rng.Next(4) switch { 0 => [], 1 => [new ImageGrid(1, 1)], 2 => [new ImageGrid(2, 3)], _ => [new ImageGrid(1, 2), new ImageGrid(3, 4)] };
    segs[i] = [.. s];
}
using var prep = new SamplePreparer(tok);
long sink = 0;
double Run(Action body)
{
    var sw = Stopwatch.StartNew(); body(); return sw.Elapsed.TotalMicroseconds / N;
}
Action prepare = () => { for (int i = 0; i < N; i++) sink += prep.Prepare(samples[i], grids[i]).Length; };
Action encode = () => { for (int i = 0; i < N; i++) foreach (var x in segs[i]) sink += tok.EncodeToIds(x).Length; };
for (int w = 0; w < 20; w++) { prepare(); encode(); }
double minP = double.MaxValue, minE = double.MaxValue;
var ps = new List<double>(); var es = new List<double>();
var total = Stopwatch.StartNew();
while (total.Elapsed.TotalSeconds < seconds)
{
    double p = Run(prepare), e = Run(encode);
    ps.Add(p); es.Add(e); minP = Math.Min(minP, p); minE = Math.Min(minE, e);
}
ps.Sort(); es.Sort();
Console.WriteLine($"{args[1]} prepare_min={minP:F3} prepare_med={ps[ps.Count / 2]:F3} encode_min={minE:F3} encode_med={es[es.Count / 2]:F3} batches={ps.Count} sink={sink % 7}");
