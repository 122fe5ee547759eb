"""Bitmap commands compared with real Redis 7.0, plus big-bitmap speed."""

from __future__ import annotations

import random
import time

import pytest


def test_setbit_getbit(pair):
    pair.check([
        ["SETBIT", "b", "7", "1"], ["GET", "b"], ["SETBIT", "b", "7", "1"],
        ["SETBIT", "b", "7", "0"], ["GETBIT", "b", "7"], ["SETBIT", "b", "100", "1"],
        ["STRLEN", "b"], ["GETBIT", "b", "100"], ["GETBIT", "b", "10000"],
        ["GETBIT", "nokey", "0"], ["SETBIT", "b", "-1", "1"], ["SETBIT", "b", "x", "1"],
        ["SETBIT", "b", "1", "2"], ["SETBIT", "b", "1", "-1"], ["SETBIT", "b", "1", "x"],
        ["SETBIT", "b", "4294967296", "1"], ["GETBIT", "b", "4294967296"],
        ["GETBIT", "b", "-1"], ["SETBIT", "b", "#1", "1"],
        ["SET", "s", "a", "EX", "100"], ["SETBIT", "s", "0", "1"], ["TTL", "s"], ["GET", "s"],
        ["OBJECT", "ENCODING", "s"], ["LPUSH", "l", "a"], ["SETBIT", "l", "0", "1"],
        ["GETBIT", "l", "0"], ["SETBIT", "l", "-1", "1"],
    ])


def test_bitcount(pair):
    pair.check([
        ["SET", "s", "foobar"], ["BITCOUNT", "s"], ["BITCOUNT", "s", "0", "0"],
        ["BITCOUNT", "s", "1", "1"], ["BITCOUNT", "s", "1", "-2"],
        ["BITCOUNT", "s", "-1", "-5"], ["BITCOUNT", "s", "-100", "100"],
        ["BITCOUNT", "s", "5", "1"], ["BITCOUNT", "s", "1", "5", "BIT"],
        ["BITCOUNT", "s", "1", "5", "byte"], ["BITCOUNT", "s", "0", "-1", "BIT"],
        ["BITCOUNT", "s", "-3", "-1", "BIT"], ["BITCOUNT", "s", "7", "9", "bit"],
        ["BITCOUNT", "s", "1", "5", "BITS"], ["BITCOUNT", "s", "1"],
        ["BITCOUNT", "s", "a", "b"], ["BITCOUNT", "nokey"], ["BITCOUNT", "nokey", "0"],
        ["BITCOUNT", "nokey", "a", "b"], ["BITCOUNT", "s", "0", "1", "bit", "x"],
        ["SET", "e", ""], ["BITCOUNT", "e"], ["BITCOUNT", "e", "0", "-1"],
        ["BITCOUNT", "e", "0", "-1", "BIT"],
        ["LPUSH", "l", "a"], ["BITCOUNT", "l"], ["BITCOUNT", "l", "0"],
    ])


def test_bitpos(pair):
    cmds = [["SET", "s", b"\xff\xf0\x00"], ["SET", "z", b"\x00\x00\x00"], ["SET", "o", b"\xff\xff"],
            ["SET", "e", ""]]
    for key in ("s", "z", "o", "e", "nokey"):
        for bit in ("0", "1"):
            cmds += [["BITPOS", key, bit], ["BITPOS", key, bit, "1"],
                     ["BITPOS", key, bit, "1", "-1"], ["BITPOS", key, bit, "2", "1"],
                     ["BITPOS", key, bit, "-1"], ["BITPOS", key, bit, "0", "-1", "BIT"],
                     ["BITPOS", key, bit, "3", "13", "bit"], ["BITPOS", key, bit, "12", "12", "BIT"],
                     ["BITPOS", key, bit, "15", "17", "BIT"], ["BITPOS", key, bit, "-7", "-2", "BIT"],
                     ["BITPOS", key, bit, "0", "0", "byte"], ["BITPOS", key, bit, "100"],
                     ["BITPOS", key, bit, "0", "1", "x"], ["BITPOS", key, bit, "a"]]
    cmds += [["BITPOS", "s", "2"], ["BITPOS", "s", "x"], ["BITPOS", "s", "1", "0", "1", "BIT", "x"],
             ["LPUSH", "l", "a"], ["BITPOS", "l", "1"], ["BITPOS", "l", "2"]]
    pair.check(cmds)


def test_bitop(pair):
    pair.check([
        ["SET", "a", "abc"], ["SET", "b", b"\x01\x02\x03\x04\xf5"], ["SET", "e", ""],
        ["BITOP", "AND", "d", "a", "b"], ["GET", "d"], ["BITOP", "or", "d", "a", "b"],
        ["GET", "d"], ["BITOP", "XOR", "d", "a", "b", "nokey"], ["GET", "d"],
        ["BITOP", "NOT", "d", "a"], ["GET", "d"], ["BITOP", "NOT", "d", "a", "b"],
        ["BITOP", "AND", "d", "a", "nokey"], ["GET", "d"],
        ["BITOP", "AND", "d", "nokey", "e"], ["EXISTS", "d"], ["BITOP", "NOT", "d", "e"],
        ["BITOP", "NAND", "d", "a"], ["BITOP", "AND", "d"], ["BITOP", "AND", "a", "a", "a"],
        ["GET", "a"], ["OBJECT", "ENCODING", "a"],
        ["SET", "t", "x", "EX", "100"], ["BITOP", "OR", "t", "a"], ["TTL", "t"],
        ["LPUSH", "l", "a"], ["BITOP", "OR", "d", "a", "l"], ["BITOP", "OR", "l", "a"],
        ["TYPE", "l"],
    ])


def test_bitfield(pair):
    pair.check([
        ["BITFIELD", "bf", "SET", "i8", "0", "100", "GET", "i8", "0", "GET", "u4", "0"],
        ["BITFIELD", "bf", "INCRBY", "i8", "0", "100"],
        ["BITFIELD", "bf", "OVERFLOW", "SAT", "INCRBY", "i8", "0", "100"],
        ["BITFIELD", "bf", "OVERFLOW", "FAIL", "INCRBY", "i8", "0", "100", "GET", "i8", "0"],
        ["BITFIELD", "bf", "OVERFLOW", "SAT", "INCRBY", "i8", "0", "-1000"],
        ["BITFIELD", "bf", "OVERFLOW", "WRAP", "INCRBY", "u2", "100", "1", "INCRBY", "u2", "100", "5"],
        ["BITFIELD", "bf", "OVERFLOW", "SAT", "INCRBY", "u2", "102", "5", "INCRBY", "u2", "102", "-9"],
        ["BITFIELD", "bf", "OVERFLOW", "FAIL", "INCRBY", "u2", "104", "5", "INCRBY", "u2", "104", "-9"],
        ["BITFIELD", "bf", "SET", "u8", "#3", "255", "GET", "u8", "24", "GET", "i8", "#3"],
        ["BITFIELD", "bf", "SET", "i64", "0", "-9223372036854775808", "GET", "i64", "0"],
        ["BITFIELD", "bf", "INCRBY", "i64", "0", "-1"],
        ["BITFIELD", "bf", "OVERFLOW", "SAT", "INCRBY", "i64", "0", "-1", "INCRBY", "i64", "0", "9223372036854775807"],
        ["BITFIELD", "bf", "SET", "u63", "5", "-1", "GET", "u63", "5"],
        ["BITFIELD", "bf", "OVERFLOW", "SAT", "SET", "u8", "0", "-1", "SET", "u8", "0", "1000", "GET", "u8", "0"],
        ["BITFIELD", "bf", "OVERFLOW", "FAIL", "SET", "u8", "0", "-1", "SET", "i8", "0", "128", "GET", "u8", "0"],
        ["BITFIELD", "bf", "SET", "i5", "3", "-17", "GET", "i5", "3", "SET", "u1", "1", "1"],
        ["BITFIELD", "bf", "GET", "u64", "0"], ["BITFIELD", "bf", "GET", "i65", "0"],
        ["BITFIELD", "bf", "GET", "i0", "0"], ["BITFIELD", "bf", "GET", "I8", "0"],
        ["BITFIELD", "bf", "GET", "u8", "-1"], ["BITFIELD", "bf", "GET", "u8", "#-1"],
        ["BITFIELD", "bf", "GET", "u8"], ["BITFIELD", "bf", "SET", "u8", "0"],
        ["BITFIELD", "bf", "SET", "u8", "0", "x"], ["BITFIELD", "bf", "FOO"],
        ["BITFIELD", "bf", "OVERFLOW", "BAD"], ["BITFIELD", "bf", "OVERFLOW"],
        ["BITFIELD", "bf"], ["BITFIELD", "nokey", "GET", "u8", "0"], ["EXISTS", "nokey"],
        ["BITFIELD", "nokey2", "OVERFLOW", "FAIL", "INCRBY", "u2", "0", "8"], ["GET", "nokey2"],
        ["BITFIELD_RO", "bf", "GET", "u8", "0", "GET", "i16", "#1"],
        ["BITFIELD_RO", "bf", "SET", "u8", "0", "1"], ["BITFIELD_RO", "bf", "INCRBY", "u8", "0", "1"],
        ["BITFIELD_RO", "bf", "OVERFLOW", "SAT", "GET", "u8", "0"],
        ["BITFIELD_RO", "bf", "GET", "u8", "x"], ["BITFIELD_RO", "nokey", "GET", "u8", "0"],
        ["LPUSH", "l", "a"], ["BITFIELD", "l", "GET", "u8", "0"], ["BITFIELD", "l", "SET", "u8", "0", "1"],
        ["BITFIELD_RO", "l", "GET", "u8", "0"],
    ])


def test_bitfield_random(pair):
    rnd = random.Random(7)
    cmds = []
    for _ in range(300):
        signed = rnd.random() < 0.5
        bits = rnd.randint(1, 64 if signed else 63)
        t = ("i" if signed else "u") + str(bits)
        off = str(rnd.randint(0, 200))
        op = rnd.choice(["GET", "SET", "INCRBY"])
        ov = rnd.choice(["WRAP", "SAT", "FAIL"])
        val = str(rnd.choice([rnd.randint(-2**63, 2**63 - 1), rnd.randint(-300, 300)]))
        cmd = ["BITFIELD", "r", "OVERFLOW", ov, op, t, off] + ([] if op == "GET" else [val])
        cmds.append(cmd)
        if rnd.random() < 0.2:
            cmds.append(["GET", "r"])
    pair.check(cmds)


def test_big_bitmap_speed(pair):
    """Whole-bitmap operations on a 16 MB string stay fast."""
    pair.check([["SETBIT", "big", str(16 * 8 * 1024 * 1024 - 1), "1"],
                ["SETBIT", "big", "12345", "1"]])
    conn = pair.conns[0]
    t0 = time.monotonic()
    assert conn.call(["BITCOUNT", "big"]) == (":", 2)
    assert conn.call(["BITPOS", "big", "1"]) == (":", 12345)
    assert conn.call(["BITOP", "NOT", "dst", "big"]) == (":", 16 * 1024 * 1024)
    assert conn.call(["BITCOUNT", "dst", "0", "-1", "BIT"]) == (":", 16 * 8 * 1024 * 1024 - 2)
    assert time.monotonic() - t0 < 5
