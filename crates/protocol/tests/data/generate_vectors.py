#!/usr/bin/env python3
"""Writes the Python-derived test vectors that tests/python_vectors.rs checks.

Run from this folder: python3 generate_vectors.py. The output is committed, so
the tests need no Python; rerun only to extend the tables.

float_repr.txt: `<hex of the double's bits> <repr(value)>` per line.
parse.txt: `<word> <hex bits of float(word)> <int(word) or ->`, or `-` where
Python raises ValueError.
"""
import random
import struct

rng = random.Random(20261122)


def bits(x):
    return struct.unpack("<Q", struct.pack("<d", x))[0]


values = []
# Random bit patterns: every exponent, every mantissa shape.
for _ in range(4000):
    x = struct.unpack("<d", struct.pack("<Q", rng.getrandbits(64)))[0]
    if x == x:
        values.append(x)
# Metric-like decimals with few digits, where naive formatting shows 0.1+0.2 noise.
for _ in range(3000):
    values.append(round(rng.uniform(-1e6, 1e6), rng.randint(0, 4)))
    values.append(rng.randint(-10**6, 10**6) / 10 ** rng.randint(0, 6))
# Around the positional/exponent switch points and ties.
for exp in range(-8, 20):
    for mantissa in (1, 1.5, 9.999999999999999, 5, 2.5, 1.0000000000000002):
        values.append(mantissa * 10.0**exp)
        values.append(-mantissa * 10.0**exp)
values += [0.0, -0.0, 5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, 0.1 + 0.2, 1 / 3,
           float("inf"), float("-inf"), 2.0**53, 2.0**53 + 2, 2.0**63, 1e22, 1e23]
with open("float_repr.txt", "w") as out:
    for x in values:
        out.write(f"{bits(x):016x} {x!r}\n")

words = ["10", "-0.5", "1e20", "2.50", "nan", "-nan", "inf", "-inf", "Infinity", "+iNf", "1_000",
         "1__000", "_1", "1_", ".5", "5.", ".", "e5", "1e", "1e+5", "1E-5", "10,5", "abc", "0x10",
         "1.5", "1e3", "007", "+7", "-0", "9223372036854775807", "9223372036854775808",
         "-9223372036854775808", "-9223372036854775809", "1e400", "1e-400", "0.1e1_0", "1_0.0_1",
         "12a", "1.2.3", "--1", "+-1", "infinity", "infinit", "nan1", "1 ", "", "+", "-"]
for _ in range(500):
    words.append(repr(rng.uniform(-1e3, 1e3)))
    words.append(str(rng.randint(-2**64, 2**64)))
    words.append("".join(rng.choice("0123456789._e+-") for _ in range(rng.randint(1, 8))))
with open("parse.txt", "w") as out:
    for word in words:
        if not word or " " in word:
            continue
        try:
            f = f"{bits(float(word)):016x}"
        except ValueError:
            f = "-"
        try:
            i = int(word)
            i = str(i) if -2**63 <= i < 2**63 else "-"
        except ValueError:
            i = "-"
        out.write(f"{word} {f} {i}\n")
