"""Python str / float semantics fixtures (imported by make_metric_fixtures.py): python_text.txt (casing, whitespace and
character properties of every code point) and python_float.jsonl (float(str), round(x, n), repr(x))."""
import json, os, random

from eval_fixture_strings import AWKWARD


def main(out_dir, write):
    make_python_float(write)
    make_python_text(out_dir)


def make_python_float(write):
    import struct
    bits = lambda x: struct.unpack("<q", struct.pack("<d", x))[0]
    rng = random.Random(10)
    rows = []
    texts = AWKWARD + ["1e-320", "4.9e-324", "1.7976931348623157e308", "1.7976931348623159e308", "0.1e1_0", "1_2.3_4e5_6",
                       "  -0  ", "+1.", "١٢٣.٤٥e١", "\u0e51\u0e52", "1\u00a0", "\u20001", "nAn", "-iNf", "+infinity", "infinit",
                       "9" * 400, "0." + "0" * 400 + "1", "123456789012345678901234567890"]
    for t in texts:
        try:
            v = float(t)
            rows.append({"text": t, "bits": bits(v)})
        except ValueError:
            rows.append({"text": t, "bits": None})
    values = [0.0, -0.0, 0.125, 0.005, 1.005, 2.675, -2.675, 0.015, 1e16, 1e15, 9999999999999998.0, 1e-4, 1e-5, 0.0001234,
              123456789012345.6, 1.2345678901234567e-17, 5e-324, 1.7976931348623157e308, 0.1, 0.30000000000000004, 100.0, 1.5, -7.0]
    values += [rng.uniform(-1000, 1000) for _ in range(150)] + [rng.random() * 10 ** rng.randrange(-30, 30) for _ in range(150)]
    values += [round(rng.uniform(0, 10), 3) for _ in range(100)] + [k / 1000 for k in range(0, 1000, 7)]
    for v in values:
        rows.append({"bits": bits(v), "repr": repr(v), "round2_bits": bits(round(v, 2)), "round5_bits": bits(round(v, 5))})
    write("python_float", rows)


def make_python_text(out_dir):
    """Lines "cp lower upper flags capitalize" (hex code points, '.'-joined) for every code point whose lower() or upper() is not
    itself or that is whitespace / cased / case-ignorable (the properties str.lower()'s final-sigma rule uses)."""
    lines = []
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        c = chr(cp)
        lo, up = c.lower(), c.upper()
        cased = (c + "\u03a3").lower()[-1] == "\u03c2"
        ignorable = not cased and ("A" + c + "\u03a3").lower()[-1] == "\u03c2"
        flags = ("s" if c.isspace() else "") + ("c" if cased else "") + ("i" if ignorable else "") + ("u" if c.isupper() else "") + ("d" if c.isdecimal() else "")
        if lo != c or up != c or flags:
            cap = c.capitalize()
            lines.append(f"{cp:x} {'.'.join(f'{ord(x):x}' for x in lo)} {'.'.join(f'{ord(x):x}' for x in up)} {flags or '-'} {'.'.join(f'{ord(x):x}' for x in cap)}")
    with open(os.path.join(out_dir, "python_text.txt"), "w", encoding="ascii") as f:
        f.write("\n".join(lines) + "\n")
    print(f"python_text: {len(lines)} code points")
