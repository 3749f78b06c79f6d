"""Awkward prediction/answer strings shared by the evaluation fixture scripts (make_metric_fixtures.py and its modules)."""


AWKWARD = [
    "", " ", "\n", "\t \n", "\x1c\x1d\x1e\x1f", "\x1cA\x1f", "\x85B\xa0", "\u2003C\u3000", ".", "...", ",", "?!", "'",
    "ß", "STRASSE", "straße", "Straße", "İstanbul", "istanbul", "ΣΊΣΥΦΟΣ", "ΟΔΟΣ ΟΔΟΣ", "ς", "ǅ", "ﬀ", "ŉ",
    "\U0001F600", "A\U0001F600", "\U0001D400", "\U0001D7CE", "\u212a. kelvin", "\u212a", "Å", "\u0130",
    "e\u0301", "\u00e9", "١٢٣", "１２３", "٣.٥", "x²", "½",
    "1e3", "1E3", "1e-3", "-1e3", "inf", "-inf", "+Infinity", "nan", "NaN", "1_000", "1__0", "_1", "1_", "1_000.5", "1e1_0",
    "12%", "12 %", "12%%", "%", "-5%", "0%", "0", "0.0", "-0", "00", "5.", ".5", "5.0", "1,000", "1,000.5", "3.14159",
    "  5  ", "\xa05\u2003", "\x1c5\x1f", "0x10", "1/2", "2:1", "1e400", "-1e400", "4.99", "5.26", "5.25", "95", "105",
    "yes", "Yes", "YES", "Yes.", "yes.", "no", "No", "No.", "No, it isn't", "y", "n", "Y", "nope", "yesterday",
    "not", "none", "a yes", "The answer is yes", "y.", "n.", "", "yes yes",
    "A", "a", "B", "(A)", "(a) text", "(B", "Option B", "option b", "option", "The answer is C", "the answer is (C)",
    "the answer is ", "B.", "B. cat", "b. cat", "Answer: B", "A B", "(A) or (B)", "C D", "D.", "E", "\nA\n", "A\n",
    "Option: A", "(", "()", "the answer is D because", "Answer:A",
    "two", "Two dogs", "the cat", "a dog", "an apple", "dont know", "it's", "Let's go", "can't", "cant", "hes here",
    "one two three", "ten", "the", "a", "mr. smith", "3.5.", "u.s.a.", "e.g. this", "end.", "...a...b...",
    "Hello, World!", "tom's", "x/y", "a-b", "[1, 2]", "(5)", "<b>", "@home", "`code`", "\"quoted\"", "semi;colon",
    "brackets{}", "a = b", "1+1", "back\\slash", "under_score", "12,345", "1,2", "10 , 20", "a ,b", "hi ?",
    ". " * 40, "a." * 40, "1." * 40,
    "word " * 300, "x" * 2000, "The answer is " + "long " * 100,
    "nan%", "inf%", "1e3%", " 5 %", "5% ", "+.5", "-.5e-2", "1.5e", "e3", "1e", "--1", "+-1",
]


def jitter(rng, s):
    """A variant of s: case flips, surrounding whitespace (incl. \\x1c-\\x1f), trailing punctuation."""
    k = rng.randrange(7)
    if k == 0:
        return s
    if k == 1:
        return s.upper()
    if k == 2:
        return s.lower()
    if k == 3:
        return rng.choice([" ", "\n", "\x1c", "\x1f", "\t", "\u3000"]) + s + rng.choice(["", " ", "\x1e", "\n"])
    if k == 4:
        return s + rng.choice([".", "!", "?", ",", ";", ":", "'", "%"])
    if k == 5:
        return s.capitalize()
    return s + " " + rng.choice(["blah", "etc.", "Thus", "is"])
