"""Geo commands compared with real Redis 7.0: scores, positions, distances,
hashes and search results (including their order when unsorted)."""

from __future__ import annotations

import random

import pytest


def test_basics_and_errors(pair):
    pair.check([
        ["GEOADD", "g", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania"],
        ["ZRANGE", "g", "0", "-1", "WITHSCORES"], ["GEOPOS", "g", "Palermo", "nope"],
        ["GEOPOS", "nokey", "a"], ["GEODIST", "g", "Palermo", "Catania"],
        ["GEODIST", "g", "Palermo", "Catania", "km"], ["GEODIST", "g", "Palermo", "Catania", "mi"],
        ["GEODIST", "g", "Palermo", "Catania", "ft"], ["GEODIST", "g", "Palermo", "Catania", "parsec"],
        ["GEODIST", "g", "Palermo", "Catania", "km", "x"], ["GEODIST", "g", "Palermo", "nope"],
        ["GEODIST", "nokey", "a", "b"], ["GEOHASH", "g", "Palermo", "Catania", "nope"],
        ["GEOHASH", "nokey", "a"],
        ["GEOADD", "g", "200", "10", "a"], ["GEOADD", "g", "10", "86", "a"],
        ["GEOADD", "g", "abc", "10", "a"], ["GEOADD", "g", "1", "2"], ["GEOADD", "g", "NX", "XX", "1", "2", "a"],
        ["GEOADD", "g", "NX", "13.4", "38.1", "Palermo"], ["GEOADD", "g", "XX", "CH", "13.4", "38.1", "Palermo"],
        ["GEOADD", "g", "XX", "1", "1", "newone"], ["GEOADD", "g", "GT", "1", "1", "x"],
        ["GEOADD", "g", "CH", "NX"], ["ZSCORE", "g", "Palermo"],
        ["SET", "str", "x"], ["GEOADD", "str", "1", "1", "a"], ["GEOPOS", "str", "a"],
        ["GEOSEARCH", "str", "FROMLONLAT", "0", "0", "BYRADIUS", "1", "km"],
        ["GEOADD", "g", "-180", "-85.05112878", "corner", "180", "85.05112878", "corner2"],
        ["GEOPOS", "g", "corner", "corner2"], ["GEOHASH", "g", "corner", "corner2"],
        ["ZADD", "z", "-5", "neg", "1e20", "huge", "3.7", "frac"], ["GEOPOS", "z", "neg", "huge", "frac"],
        ["GEOHASH", "z", "neg", "frac"],
    ])


def test_search_errors(pair):
    pair.check([
        ["GEOADD", "g", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania"],
        ["GEOSEARCH", "g", "FROMLONLAT", "15", "37", "BYRADIUS", "-1", "km"],
        ["GEOSEARCH", "g", "FROMLONLAT", "15", "37", "BYRADIUS", "1", "parsec"],
        ["GEOSEARCH", "g", "FROMLONLAT", "15", "37", "BYRADIUS", "x", "km"],
        ["GEOSEARCH", "g", "FROMLONLAT", "15", "37", "BYBOX", "x", "1", "km"],
        ["GEOSEARCH", "g", "FROMLONLAT", "15", "37", "BYBOX", "1", "x", "km"],
        ["GEOSEARCH", "g", "FROMLONLAT", "15", "37", "BYBOX", "-1", "1", "km"],
        ["GEOSEARCH", "g", "FROMLONLAT", "15", "37", "BYRADIUS", "1", "km", "ANY"],
        ["GEOSEARCH", "g", "FROMLONLAT", "15", "37", "BYRADIUS", "1", "km", "COUNT", "0"],
        ["GEOSEARCH", "g", "FROMLONLAT", "15", "37", "BYRADIUS", "1", "km", "COUNT", "x"],
        ["GEOSEARCH", "g", "FROMLONLAT", "15", "37", "BYRADIUS", "1", "km", "STORE", "x"],
        ["GEOSEARCH", "g", "FROMMEMBER", "nope", "BYRADIUS", "1", "km"],
        ["GEOSEARCH", "g", "BYRADIUS", "1", "km", "ASC", "WITHDIST"],
        ["GEOSEARCH", "g", "FROMMEMBER", "Palermo", "ASC", "WITHDIST", "COUNT", "1"],
        ["GEOSEARCH", "g", "FROMMEMBER", "Palermo", "FROMLONLAT", "1", "2", "BYRADIUS", "1", "km"],
        ["GEOSEARCH", "g", "FROMMEMBER", "Palermo", "BYRADIUS", "1", "km", "BYBOX", "1", "1", "km"],
        ["GEOSEARCH", "nokey", "FROMMEMBER", "x", "BYRADIUS", "1", "km"],
        ["GEOSEARCHSTORE", "d", "g", "FROMLONLAT", "15", "37", "BYRADIUS", "1", "km", "WITHDIST"],
        ["GEORADIUS", "g", "15", "37", "200", "km", "STORE", "d", "WITHDIST"],
        ["GEORADIUS_RO", "g", "15", "37", "200", "km", "STORE", "d"],
        ["GEORADIUS", "g", "200", "37", "200", "km"],
        ["GEORADIUSBYMEMBER", "g", "nope", "200", "km"],
        ["GEORADIUSBYMEMBER", "nokey", "nope", "200", "km"],
        ["GEORADIUSBYMEMBER", "nokey", "nope", "200", "km", "STORE", "d"],
        ["SET", "d", "x"], ["GEOSEARCHSTORE", "d", "nokey", "FROMLONLAT", "15", "37", "BYRADIUS", "1", "km"],
        ["EXISTS", "d"], ["SET", "d", "x"],
        ["GEOSEARCHSTORE", "d", "g", "FROMLONLAT", "0", "0", "BYRADIUS", "1", "km"], ["EXISTS", "d"],
    ])


def _random_points(rnd, n, lon0, lat0, spread):
    out = []
    for i in range(n):
        lon = max(-180, min(180, lon0 + rnd.uniform(-spread, spread)))
        lat = max(-85, min(85, lat0 + rnd.uniform(-spread / 2, spread / 2)))
        out += [f"{lon:.6f}", f"{lat:.6f}", f"m{i}"]
    return out


@pytest.mark.parametrize("seed", range(6))
def test_random_searches(pair, seed):
    rnd = random.Random(seed)
    centers = [(13.4, 38.1), (0.0, 0.0), (179.5, 10.0), (-179.9, -60.0), (20.0, 84.0),
               (-70.0, -82.0)]
    lon0, lat0 = rnd.choice(centers)
    cmds = [["GEOADD", "g", *_random_points(rnd, 300, lon0, lat0, rnd.choice([0.5, 5, 40]))]]
    for _ in range(40):
        lon = max(-180, min(180, lon0 + rnd.uniform(-2, 2)))
        lat = max(-85, min(85, lat0 + rnd.uniform(-1, 1)))
        u = rnd.choice(["m", "km", "mi", "ft"])
        scale = {"m": 1000, "km": 1, "mi": 0.62, "ft": 3280}[u]
        r = f"{rnd.choice([1, 10, 100, 500, 3000, 8000]) * scale:g}"
        opts = []
        if rnd.random() < 0.5:
            opts.append(rnd.choice(["ASC", "DESC"]))
        if rnd.random() < 0.4:
            opts += ["COUNT", str(rnd.randrange(1, 20))]
            if rnd.random() < 0.3:
                opts.append("ANY")
        opts += [x for x in ("WITHDIST", "WITHHASH", "WITHCOORD") if rnd.random() < 0.4]
        member = f"m{rnd.randrange(300)}"
        kind = rnd.randrange(5)
        if kind == 0:
            cmds.append(["GEOSEARCH", "g", "FROMLONLAT", f"{lon:.5f}", f"{lat:.5f}",
                         "BYRADIUS", r, u, *opts])
        elif kind == 1:
            cmds.append(["GEOSEARCH", "g", "FROMMEMBER", member, "BYBOX", r,
                         f"{float(r) / 2:g}", u, *opts])
        elif kind == 2:
            cmds.append(["GEORADIUS", "g", f"{lon:.5f}", f"{lat:.5f}", r, u, *opts])
        elif kind == 3:
            cmds.append(["GEORADIUSBYMEMBER_RO", "g", member, r, u, *opts])
        else:
            store = rnd.choice(["STORE", "STOREDIST"])
            cmds.append(["GEORADIUS", "g", f"{lon:.5f}", f"{lat:.5f}", r, u,
                         *[o for o in opts if not o.startswith("WITH")], store, "dst"])
            cmds.append(["ZRANGE", "dst", "0", "-1", "WITHSCORES"])
        cmds.append(["GEODIST", "g", member, f"m{rnd.randrange(300)}", u])
    cmds.append(["GEOPOS", "g", *[f"m{i}" for i in range(0, 300, 7)]])
    cmds.append(["GEOHASH", "g", *[f"m{i}" for i in range(0, 300, 7)]])
    pair.check(cmds)


def test_resp3_coordinates(pair):
    pair.check([
        ["GEOADD", "g", "13.361389", "38.115556", "Palermo"], ["GEOPOS", "g", "Palermo"],
        ["GEOSEARCH", "g", "FROMLONLAT", "13", "38", "BYRADIUS", "100", "km", "WITHCOORD",
         "WITHDIST", "WITHHASH"],
        ["GEODIST", "g", "Palermo", "Palermo"],
    ], proto=3)
