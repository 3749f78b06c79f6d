#!/usr/bin/env python3
"""Generates the English training corpus for NanoVlm.NET's built-in default tokenizer.

Deterministic (fixed seed): question/answer text about synthetic images (counting shapes, colours,
positions, reading rendered digits and words, captions) plus some general English sentences.
Usage: make_corpus.py OUT_FILE [LINES]
"""
import random
import sys

rng = random.Random(20261123)
SHAPES = ["circle", "square", "triangle", "rectangle", "star", "hexagon", "pentagon", "diamond", "oval",
          "cross", "heart", "arrow", "line", "dot", "ring", "cube", "sphere", "cone", "cylinder"]
COLOURS = ["red", "green", "blue", "yellow", "orange", "purple", "pink", "brown", "black", "white", "gray",
           "grey", "cyan", "magenta", "teal", "navy", "olive", "maroon", "gold", "silver", "violet"]
SIZES = ["small", "large", "big", "tiny", "medium", "huge", "thin", "thick", "short", "tall"]
POSITIONS = ["top left", "top right", "bottom left", "bottom right", "center", "middle", "top", "bottom",
             "left side", "right side", "upper half", "lower half", "left edge", "right edge", "corner"]
RELATIONS = ["above", "below", "to the left of", "to the right of", "next to", "inside", "on top of",
             "behind", "in front of", "between", "near", "far from", "overlapping"]
BACKGROUNDS = ["white", "black", "light gray", "dark blue", "striped", "checkered", "plain", "noisy",
               "gradient", "textured"]
WORDS = ["cat", "dog", "house", "tree", "river", "apple", "train", "window", "garden", "music", "paper",
         "stone", "light", "water", "bird", "table", "chair", "phone", "clock", "bridge", "road", "city",
         "hello", "world", "open", "close", "stop", "exit", "sale", "menu", "coffee", "book", "page"]
NUMBER_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
                "eleven", "twelve"]
GENERAL = [
    "The quick brown fox jumps over the lazy dog.",
    "A picture is worth a thousand words, but a good caption helps.",
    "Please describe the image in detail.",
    "Answer the question using a single word or phrase.",
    "Look carefully at the picture before you answer.",
    "The weather today is sunny with a light breeze from the west.",
    "She opened the window and watched the birds in the garden.",
    "Mathematics is the language in which the rules of nature are written.",
    "He counted the coins twice to be sure that none were missing.",
    "The train leaves the station at seven o'clock every morning.",
    "Reading books every day improves vocabulary and focus.",
    "The children played football in the park until it got dark.",
    "Scientists measure temperature in degrees Celsius or Kelvin.",
    "A computer program is a sequence of instructions for a machine.",
    "The museum displays paintings, sculptures and old photographs.",
    "Water boils at one hundred degrees Celsius at sea level.",
    "If you are not sure, explain your reasoning step by step.",
    "Thank you! Let me know if you have any other questions.",
]
QUESTION_TEMPLATES = [
    ("How many {c}s are in the image?", "count"),
    ("How many {col} {c}s can you see?", "count_col"),
    ("Count the {c}s in the picture.", "count"),
    ("What colour is the {c}?", "colour"),
    ("What color is the {s} {c}?", "colour"),
    ("Where is the {col} {c}?", "position"),
    ("In which part of the image is the {c} located?", "position"),
    ("What shape is in the {p}?", "shape"),
    ("Which shape is {r} the {col} {c}?", "relation"),
    ("What number is written in the image?", "digits"),
    ("Read the text in the image.", "word"),
    ("What word is shown on the sign?", "word"),
    ("Describe the image.", "caption"),
    ("Give a short caption for this picture.", "caption"),
    ("Is there a {col} {c} in the image?", "yesno"),
    ("Are there more {c}s than {c2}s?", "compare"),
    ("What is the sum of the two numbers shown?", "sum"),
]

# General English vocabulary for the "some general English" part of the corpus.
COMMON = """
about above across act action add afraid after afternoon again against age ago agree air all allow almost alone
along already also although always among amount ancient angry animal another answer any anyone anything appear
apply area arm army around arrive art article ask attention aunt autumn available average away baby back bad bag
ball bank base basket bath battle beach bear beautiful because become bed before begin behaviour believe bell belong
beneath beside best better beyond bicycle big bill birthday bit bitter blade blanket blind blood blow board boat body
bone border borrow bottle bottom bought box boy brain branch brave bread break breakfast breath brick bright bring
broad brother build burn business busy butter button buy cake calculate call calm camera camp can candle capital
captain card care careful carry case castle catch cause ceiling centre century certain chain chance change character
charge cheap check cheese chemical chicken child choice choose church circle citizen class clean clear clever climb
cloth cloud coast coat cold collect college colour comfortable common company compare complete computer condition
connect consider contain continue control cook cool copy corner correct cost cotton could country course cousin cover
cream create crowd culture cup current curtain customer cut daily damage dance danger dark daughter day dead dear
decide decision deep degree deliver depend describe desert design detail develop difference difficult dinner direction
dirty discover discuss distance divide doctor door double doubt down drawer dream dress drink drive drop dry during
dust duty each early earth east easy eat edge education effect effort egg either electric element else empty end
enemy energy engine enjoy enough enter equal error escape evening event ever every exact example excellent except
exchange exercise expect expensive experience explain express extra face fact factory fail fair fall family famous
farm fast father fault favourite fear feather feel female fence few field fight figure fill film final find fine
finger finish fire firm first fish fix flag flat flight floor flower fly fold follow food foot force foreign forest
forget form forward free fresh friend front fruit full fun future game gas gate general gentle gift girl give glass
go goal good government grass great green ground group grow guess guest guide gun hair half hall hand happen happy
hard hat hate have head health hear heart heat heavy help here hide high hill history hold hole holiday home hope
horse hospital hot hotel hour human hunger hurry husband idea ill image imagine important improve include increase
industry information insect instrument interest invent iron island job join journey judge juice jump just keep key
kick kind king kitchen knee knife knock know knowledge lady lake lamp land language large last late laugh law lead
leaf learn leave leg lesson letter level library lie lift like limit list listen little live lock long look lose
loud love low machine magazine main make male manage many map mark market marry match material matter meal mean
measure meat medicine meet member memory metal method middle might milk mind minute mirror miss mistake model
modern moment money month moon more morning most mother mountain mouse mouth move much mud muscle must nation natural
nature near neck need needle neighbour nervous nest never new news newspaper next nice night noise north nose note
nothing notice now number nurse object ocean offer office often oil old only opinion opposite orange order ordinary
organ other out outside over own page pain paint pair pale paper parent part party pass past path pattern pay peace
pen pencil people pepper perfect period person photograph piano pick picture piece pig pin pipe place plane plant
plate play please pleasure pocket point poison polite pool poor popular position possible potato pour powder power
practice prepare present press pretty price print prison private prize problem produce program promise protect proud
provide public pull punish pupil push quality quarter queen question quick quiet race radio rain raise rapid rare
rate reach read ready real reason receive record reduce relation religion remember repeat reply report rest result
return rice rich ride right ring rise risk road rock roof room root rope rough round row rule run safe salt same
sand save say school science scissors sea season seat second secret see seed seem sell send sense sentence separate
serious serve several shade shake shape share sharp sheep shelf shell shine ship shirt shoe shop short shoulder show
shut sick side sign silk silver simple since sing sister sit size skin sky sleep slow smell smile smoke snake snow
soap society soft soldier solid solve some son song soon sorry sort sound soup south space speak special speed spend
spoon sport spread spring square stage stairs stamp stand start state steam steel step stick still stomach storm
story straight strange street strong student study subject success sudden sugar suggest summer sun supper support
sure surface surprise sweet swim system tail take talk taste tax teach team tear telephone television tell tennis
test thank theatre thick thin thing think thought thread through throw ticket tidy tie tight time tired title today
together tomorrow tongue tonight tool tooth top total touch towards town toy trade traffic travel tree trouble
trousers true trust try turn twice type ugly umbrella uncle under understand uniform unit until useful usual valley
value vegetable very village visit voice wait walk wall want war warm wash waste watch wave way weak wear week weight
welcome west wet wheel when where whether which while whisper whole why wide wife wild win wind window wine winter
wire wise wish woman wonder wood wool word work world worry write wrong yard year yellow yesterday young zone
""".split()
SUBJECTS = ["The teacher", "My friend", "A scientist", "The old man", "Our team", "The child", "Everyone",
            "Nobody", "The company", "This model", "The student", "Her brother", "The engineer", "A visitor"]
VERBS = ["wanted to", "decided to", "tried to", "was able to", "refused to", "forgot to", "planned to",
         "learned how to", "did not", "will", "could", "should", "might"]


def general_sentence():
    words = rng.sample(COMMON, rng.randint(3, 8))
    s = f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} " + " ".join(words)
    if rng.random() < 0.3:
        s += f", and then {rng.choice(COMMON)}ed the {rng.choice(COMMON)}"
    return s + rng.choice([".", ".", ".", "!", "?", ";", ":"])



def caption():
    n = rng.randint(1, 6)
    parts = []
    for _ in range(n):
        parts.append(f"a {rng.choice(SIZES)} {rng.choice(COLOURS)} {rng.choice(SHAPES)} in the {rng.choice(POSITIONS)}")
    text = "The image shows " + ", ".join(parts[:-1]) + (" and " if n > 1 else "") + parts[-1]
    return text + f" on a {rng.choice(BACKGROUNDS)} background."


def answer(kind, c, col, p, r, c2):
    if kind in ("count", "count_col"):
        k = rng.randint(0, 12)
        return rng.choice([str(k), NUMBER_WORDS[k].capitalize() + ".", f"There are {k} {c}s.", f"I can see {NUMBER_WORDS[k]} {c}s in the image."])
    if kind == "colour":
        col2 = rng.choice(COLOURS)
        return rng.choice([col2, f"The {c} is {col2}.", f"It is {col2}."])
    if kind == "position":
        return rng.choice([f"In the {p}.", f"The {col} {c} is in the {p} of the image.", p.capitalize()])
    if kind == "shape":
        return rng.choice([c, f"A {col} {c}.", f"There is a {rng.choice(SIZES)} {c} in the {p}."])
    if kind == "relation":
        return f"The {rng.choice(COLOURS)} {c2} is {r} the {col} {c}."
    if kind == "digits":
        d = rng.randint(0, 10 ** rng.randint(1, 7))
        return rng.choice([str(d), f"The number is {d}.", f"It reads {d}."])
    if kind == "word":
        w = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 3)))
        return rng.choice([w, w.upper(), f'The text says "{w}".', f"It says {w.capitalize()}."])
    if kind == "caption":
        return caption()
    if kind == "yesno":
        return rng.choice(["Yes.", "No.", "yes", "no", f"Yes, there is a {col} {c} in the {p}.", f"No, there is no {col} {c}."])
    if kind == "compare":
        return rng.choice(["Yes.", "No.", f"No, there are fewer {c}s than {c2}s.", f"Yes, there are more {c}s."])
    if kind == "sum":
        a, b = rng.randint(0, 999), rng.randint(0, 999)
        return f"The numbers are {a} and {b}, so the sum is {a + b}."
    raise ValueError(kind)


def qa_line():
    tmpl, kind = rng.choice(QUESTION_TEMPLATES)
    c, c2 = rng.sample(SHAPES, 2)
    col, p, r, s = rng.choice(COLOURS), rng.choice(POSITIONS), rng.choice(RELATIONS), rng.choice(SIZES)
    q = tmpl.format(c=c, c2=c2, col=col, p=p, r=r, s=s)
    if rng.random() < 0.2:
        q += " " + rng.choice(GENERAL[2:5])
    return q, answer(kind, c, col, p, r, c2)


def main():
    out = sys.argv[1]
    lines = int(sys.argv[2]) if len(sys.argv) > 2 else 200000
    with open(out, "w", encoding="utf-8") as f:
        for i in range(lines):
            roll = rng.random()
            if roll < 0.75:
                q, a = qa_line()
                f.write(q + "\n" + a + "\n")
            elif roll < 0.8:
                f.write(caption() + "\n")
            else:
                if rng.random() < 0.3:
                    f.write(" ".join(rng.sample(GENERAL, rng.randint(1, 3))) + "\n")
                else:
                    f.write(" ".join(general_sentence() for _ in range(rng.randint(1, 4))) + "\n")


if __name__ == "__main__":
    main()
