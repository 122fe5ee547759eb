"""Geo commands: GEOADD, GEOPOS, GEODIST, GEOHASH, GEOSEARCH, GEOSEARCHSTORE and
the GEORADIUS family.

Positions are sorted-set scores: a 52-bit geohash interleaving 26 bits of
latitude (even bits, range +/-85.05112878) and 26 bits of longitude (odd
bits), computed with Redis's arithmetic so stored scores, decoded positions,
distances (haversine on a 6372797.560856 m sphere) and the search areas (the
centre box and its 8 neighbours, in Redis's order) are the same as Redis's;
results that are not sorted come out in the same order too.
"""

from __future__ import annotations

import math

from redpoll.commands.sorted_set import _zadd, parse_score, store_result
from redpoll.commands.table import command
from redpoll.datatypes.zset import ZSet
from redpoll.errors import SYNTAX, RedisError
from redpoll.notify import GENERIC, notify
from redpoll.protocol.resp import Raw

G = "geo"
STEP_MAX = 26
LAT_MIN, LAT_MAX = -85.05112878, 85.05112878
LONG_MIN, LONG_MAX = -180.0, 180.0
EARTH_RADIUS = 6372797.560856
MERCATOR_MAX = 20037726.37
D_R = math.pi / 180.0
M64 = (1 << 64) - 1
_ALPHABET = b"0123456789bcdefghjkmnpqrstuvwxyz"


# -- geohash --------------------------------------------------------------------------

def _spread(v: int) -> int:
    v &= 0xFFFFFFFF
    v = (v | (v << 16)) & 0x0000FFFF0000FFFF
    v = (v | (v << 8)) & 0x00FF00FF00FF00FF
    v = (v | (v << 4)) & 0x0F0F0F0F0F0F0F0F
    v = (v | (v << 2)) & 0x3333333333333333
    v = (v | (v << 1)) & 0x5555555555555555
    return v


def _squash(v: int) -> int:
    v &= 0x5555555555555555
    v = (v | (v >> 1)) & 0x3333333333333333
    v = (v | (v >> 2)) & 0x0F0F0F0F0F0F0F0F
    v = (v | (v >> 4)) & 0x00FF00FF00FF00FF
    v = (v | (v >> 8)) & 0x0000FFFF0000FFFF
    v = (v | (v >> 16)) & 0x00000000FFFFFFFF
    return v


def encode(lon: float, lat: float, step: int = STEP_MAX,
           lat_min: float = LAT_MIN, lat_max: float = LAT_MAX) -> int:
    """geohashEncode: the interleaved bits (0 outside the valid area)."""
    if lon > LONG_MAX or lon < LONG_MIN or lat > LAT_MAX or lat < LAT_MIN:
        return 0
    lat_off = (lat - lat_min) / (lat_max - lat_min)
    lon_off = (lon - LONG_MIN) / (LONG_MAX - LONG_MIN)
    lat_off *= (1 << step)
    lon_off *= (1 << step)
    return _spread(int(lat_off)) | (_spread(int(lon_off)) << 1)


def area(bits: int, step: int):
    """geohashDecode: (lon_min, lon_max, lat_min, lat_max) of a box."""
    ilat = _squash(bits)
    ilon = _squash(bits >> 1)
    lat_scale = LAT_MAX - LAT_MIN
    lon_scale = LONG_MAX - LONG_MIN
    d = float(1 << step)
    return (LONG_MIN + (ilon * 1.0 / d) * lon_scale,
            LONG_MIN + ((ilon + 1) * 1.0 / d) * lon_scale,
            LAT_MIN + (ilat * 1.0 / d) * lat_scale,
            LAT_MIN + ((ilat + 1) * 1.0 / d) * lat_scale)


def _to_uint64(d: float) -> int:
    """C's (uint64_t) cast of a double as x86-64 compilers do it."""
    if d != d:
        return 1 << 63
    if d >= 9223372036854775808.0:
        v = d - 9223372036854775808.0
        return 0 if v >= 9223372036854775808.0 else int(v) ^ (1 << 63)
    if d < -9223372036854775808.0:
        return 1 << 63
    return int(d) & M64


def decode(score: float):
    """decodeGeohash: (lon, lat) of a 52-bit score."""
    bits = _to_uint64(score)
    lo0, lo1, la0, la1 = area(bits, STEP_MAX)
    lon = (lo0 + lo1) / 2
    lon = min(max(lon, LONG_MIN), LONG_MAX)
    lat = (la0 + la1) / 2
    lat = min(max(lat, LAT_MIN), LAT_MAX)
    return lon, lat


def lat_distance(lat1: float, lat2: float) -> float:
    return EARTH_RADIUS * abs(lat2 * D_R - lat1 * D_R)


def distance(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """geohashGetDistance (haversine)."""
    lon1r, lon2r = lon1 * D_R, lon2 * D_R
    v = math.sin((lon2r - lon1r) / 2)
    if v == 0.0:
        return lat_distance(lat1, lat2)
    lat1r, lat2r = lat1 * D_R, lat2 * D_R
    u = math.sin((lat2r - lat1r) / 2)
    a = u * u + math.cos(lat1r) * math.cos(lat2r) * v * v
    return 2.0 * EARTH_RADIUS * math.asin(math.sqrt(a))


_X_BITS = 0xAAAAAAAAAAAAAAAA      # longitude's interleaved bits in a geohash
_Y_BITS = 0x5555555555555555      # latitude's


def _move(bits: int, step: int, d: int, axis: int) -> int:
    """One cell east/north (``d`` > 0) or west/south along ``axis`` (_X_BITS
    or _Y_BITS) of a ``step``-bit-per-axis geohash (geohash_move_x/y)."""
    other = axis ^ M64
    a = bits & axis
    zz = other >> (64 - step * 2)
    if d > 0:
        a = (a + (zz + 1)) & M64
    else:
        a = ((a | zz) - (zz + 1)) & M64
    a &= axis >> (64 - step * 2)
    return a | (bits & other)


def _neighbors(bits: int, step: int) -> dict:
    def mv(dx, dy):
        b = bits
        if dx:
            b = _move(b, step, dx, _X_BITS)
        if dy:
            b = _move(b, step, dy, _Y_BITS)
        return b
    return {"north": mv(0, 1), "south": mv(0, -1), "east": mv(1, 0), "west": mv(-1, 0),
            "north_east": mv(1, 1), "north_west": mv(-1, 1),
            "south_east": mv(1, -1), "south_west": mv(-1, -1)}


def _steps_by_radius(range_m: float, lat: float) -> int:
    if range_m == 0:
        return 26
    step = 1
    while range_m < MERCATOR_MAX:
        range_m *= 2
        step += 1
    step -= 2
    if lat > 66 or lat < -66:
        step -= 1
        if lat > 80 or lat < -80:
            step -= 1
    return max(1, min(26, step))


class Shape:
    __slots__ = ("lon", "lat", "radius", "width", "height", "conversion", "box")

    def __init__(self):
        self.lon = self.lat = 0.0
        self.radius = self.width = self.height = 0.0
        self.conversion = 1.0
        self.box = False


def _bounding_box(s: Shape):
    if s.box:
        height = s.conversion * (s.height / 2)
        width = s.conversion * (s.width / 2)
    else:
        height = width = s.conversion * s.radius
    lat_delta = (height / EARTH_RADIUS) / D_R
    long_delta_top = (width / EARTH_RADIUS / math.cos((s.lat + lat_delta) * D_R)) / D_R
    long_delta_bottom = (width / EARTH_RADIUS / math.cos((s.lat - lat_delta) * D_R)) / D_R
    south = s.lat < 0
    d = long_delta_bottom if south else long_delta_top
    return s.lon - d, s.lat - lat_delta, s.lon + d, s.lat + lat_delta


def search_areas(s: Shape) -> list:
    """geohashCalculateAreasByShapeWGS84 + membersOfAllNeighbors order:
    the (bits, step) boxes to scan, zeroed ones as None."""
    min_lon, min_lat, max_lon, max_lat = _bounding_box(s)
    if s.box:
        radius_m = math.sqrt((s.width / 2) ** 2 + (s.height / 2) ** 2)
    else:
        radius_m = s.radius
    radius_m *= s.conversion
    steps = _steps_by_radius(radius_m, s.lat)
    h = encode(s.lon, s.lat, steps)
    nb = _neighbors(h, steps)
    n = area(nb["north"], steps)
    so = area(nb["south"], steps)
    e = area(nb["east"], steps)
    w = area(nb["west"], steps)
    decrease = (n[3] < max_lat or so[2] > min_lat or e[1] < max_lon or w[0] > min_lon)
    if steps > 1 and decrease:
        steps -= 1
        h = encode(s.lon, s.lat, steps)
        nb = _neighbors(h, steps)
    a = area(h, steps)
    boxes = {k: (v, steps) for k, v in nb.items()}
    if steps >= 2:
        zero = set()
        if a[2] < min_lat:
            zero |= {"south", "south_west", "south_east"}
        if a[3] > max_lat:
            zero |= {"north", "north_east", "north_west"}
        if a[0] < min_lon:
            zero |= {"west", "south_west", "north_west"}
        if a[1] > max_lon:
            zero |= {"east", "south_east", "north_east"}
        for k in zero:
            boxes[k] = None
    order = ["north", "south", "east", "west", "north_east", "north_west",
             "south_east", "south_west"]
    return [(h, steps)] + [boxes[k] for k in order]


def _within(s: Shape, lon: float, lat: float):
    """The distance (meters) if the point is inside the shape, else None."""
    if not s.box:
        d = distance(s.lon, s.lat, lon, lat)
        return d if d <= s.radius * s.conversion else None
    w, h = s.width * s.conversion, s.height * s.conversion
    if lat_distance(lat, s.lat) > h / 2:
        return None
    if distance(lon, lat, s.lon, lat) > w / 2:
        return None
    return distance(s.lon, s.lat, lon, lat)


def search(z: ZSet, s: Shape, limit: int) -> list:
    """Points inside the shape: [member, dist_m, score, lon, lat] in Redis's order."""
    found = []
    boxes = search_areas(s)
    last = 0
    for i, box in enumerate(boxes):
        if box is None:
            continue
        # Redis skips a box equal to the previously scanned one (huge radius),
        # except right after the centre box (its "last processed" index is 0).
        if last and box == boxes[last]:
            continue
        if found and limit and len(found) >= limit:
            break
        bits, step = box
        lo = bits << (52 - step * 2)
        hi = (bits + 1) << (52 - step * 2)
        for score, member in z.sl.irange((float(lo),), (float(hi),), inclusive=(True, False)):
            lon, lat = decode(score)
            d = _within(s, lon, lat)
            if d is not None:
                found.append([member, d, score, lon, lat])
                if limit and len(found) >= limit:
                    break
        last = i
    return found


# -- replies ---------------------------------------------------------------------------

def human_double(c, v: float):
    """addReplyHumanLongDouble: %.17Lf without trailing zeros."""
    s = "%.17f" % v
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    if s == "-0":
        s = "0"
    b = s.encode()
    return b if c.resp == 2 else Raw(b",%b\r\n" % b)


def distance_reply(d: float) -> bytes:
    return b"%.4f" % d


# -- argument parsing ------------------------------------------------------------------

def _double(b: bytes, msg: str = "ERR value is not a valid float") -> float:
    return parse_score(b, msg)


def lonlat(argv, i: int):
    lon, lat = _double(argv[i]), _double(argv[i + 1])
    if lon < LONG_MIN or lon > LONG_MAX or lat < LAT_MIN or lat > LAT_MAX:
        raise RedisError("ERR invalid longitude,latitude pair %f,%f" % (lon, lat))
    return lon, lat


def unit(b: bytes) -> float:
    u = b.lower()
    if u == b"m":
        return 1.0
    if u == b"km":
        return 1000.0
    if u == b"ft":
        return 0.3048
    if u == b"mi":
        return 1609.34
    raise RedisError("ERR unsupported unit provided. please use M, KM, FT, MI")


def radius_arg(argv, i: int, s: Shape) -> None:
    r = _double(argv[i], "ERR need numeric radius")
    if r < 0:
        raise RedisError("ERR radius cannot be negative")
    s.radius = r
    s.conversion = unit(argv[i + 1])
    s.box = False


def box_arg(argv, i: int, s: Shape) -> None:
    w = _double(argv[i], "ERR need numeric width")
    h = _double(argv[i + 1], "ERR need numeric height")
    if h < 0 or w < 0:
        raise RedisError("ERR height or width cannot be negative")
    s.width, s.height = w, h
    s.conversion = unit(argv[i + 2])
    s.box = True


def _get_zset(db, key):
    return db.get_typed(key, ZSet)


def _coords(z, member: bytes):
    """(lon, lat) of ``member`` of geo set ``z``; None when the key (z is
    None) or the member is missing."""
    score = z.score(member) if z is not None else None
    return None if score is None else decode(score)


def _member_pos(z: ZSet, member: bytes):
    score = z.score(member)
    if score is None:
        raise RedisError("ERR could not decode requested zset member")
    return decode(score)


# -- commands ----------------------------------------------------------------------------

@command("geoadd", -5, "write denyoom", keys=(1, 1, 1), group=G, since="3.2.0",
         summary="Adds one or more members to a geospatial index. The key is created if "
                 "it doesn't exist.")
def geoadd(c, argv):
    i = 2
    nx = xx = False
    while i < len(argv):
        o = argv[i].lower()
        if o == b"nx":
            nx = True
        elif o == b"xx":
            xx = True
        elif o != b"ch":
            break
        i += 1
    if (len(argv) - i) % 3 or (nx and xx):
        raise RedisError(SYNTAX)
    zargv = [b"zadd"] + list(argv[1:i])
    for j in range(i, len(argv), 3):
        lon, lat = lonlat(argv, j)
        zargv.append(b"%d" % encode(lon, lat))
        zargv.append(argv[j + 2])
    c.prop_argv = zargv
    return _zadd(c, zargv, False)


@command("geopos", -2, "readonly", keys=(1, 1, 1), group=G, since="3.2.0",
         summary="Returns the longitude and latitude of members from a geospatial index.")
def geopos(c, argv):
    from redpoll.protocol.resp import NULL_ARRAY
    z = _get_zset(c.db, argv[1])
    out = []
    for m in argv[2:]:
        pos = _coords(z, m)
        if pos is None:
            out.append(NULL_ARRAY)
        else:
            out.append([human_double(c, pos[0]), human_double(c, pos[1])])
    return out


@command("geodist", -4, "readonly", keys=(1, 1, 1), group=G, since="3.2.0",
         summary="Returns the distance between two members of a geospatial index.")
def geodist(c, argv):
    to_meter = 1.0
    if len(argv) == 5:
        to_meter = unit(argv[4])
    elif len(argv) > 5:
        raise RedisError(SYNTAX)
    z = _get_zset(c.db, argv[1])
    if z is None:
        return None
    a, b = _coords(z, argv[2]), _coords(z, argv[3])
    if a is None or b is None:
        return None
    return distance_reply(distance(a[0], a[1], b[0], b[1]) / to_meter)


@command("geohash", -2, "readonly", keys=(1, 1, 1), group=G, since="3.2.0",
         summary="Returns members from a geospatial index as geohash strings.")
def geohash(c, argv):
    z = _get_zset(c.db, argv[1])
    out = []
    for m in argv[2:]:
        pos = _coords(z, m)
        if pos is None:
            out.append(None)
            continue
        bits = encode(pos[0], pos[1], 26, -90.0, 90.0)
        buf = bytearray()
        for i in range(11):
            idx = 0 if i == 10 else (bits >> (52 - (i + 1) * 5)) & 0x1F
            buf.append(_ALPHABET[idx])
        out.append(bytes(buf))
    return out


RADIUS_COORDS, RADIUS_MEMBER, GEOSEARCH, GEOSEARCHSTORE, NOSTORE = 1, 2, 4, 8, 16


def _med3(a: list, i: int, j: int, k: int, cmp) -> int:
    """The index of the median of a[i], a[j], a[k] (Bentley-McIlroy)."""
    if cmp(a[i], a[j]) < 0:
        return j if cmp(a[j], a[k]) < 0 else (k if cmp(a[i], a[k]) < 0 else i)
    return j if cmp(a[j], a[k]) > 0 else (i if cmp(a[i], a[k]) < 0 else k)


def _insertion(a: list, base: int, n: int, cmp) -> None:
    for m in range(base + 1, base + n):
        k = m
        while k > base and cmp(a[k - 1], a[k]) > 0:
            a[k - 1], a[k] = a[k], a[k - 1]
            k -= 1


def _vecswap(a: list, i: int, j: int, n: int) -> None:
    for t in range(n):
        a[i + t], a[j + t] = a[j + t], a[i + t]


def pqsort(a: list, cmp, lrange: int, rrange: int, base: int = 0, n: int | None = None) -> None:
    """Redis 7.0's partial quicksort (pqsort.c: the NetBSD/Bentley-McIlroy
    qsort, no switch to insertion sort after a swap-free pass, recursing only
    into parts overlapping ranks lrange..rrange): the same swaps, so elements
    comparing equal end up in Redis's order. GEO replies with COUNT are
    sorted with it."""
    if n is None:
        n = len(a)
    while True:
        if n < 7:
            _insertion(a, base, n, cmp)
            return
        pm = base + n // 2
        if n > 7:
            pl, pn = base, base + n - 1
            if n > 40:
                d = n // 8
                pl = _med3(a, pl, pl + d, pl + 2 * d, cmp)
                pm = _med3(a, pm - d, pm, pm + d, cmp)
                pn = _med3(a, pn - 2 * d, pn - d, pn, cmp)
            pm = _med3(a, pl, pm, pn, cmp)
        a[base], a[pm] = a[pm], a[base]
        pivot = a[base]
        pa = pb = base + 1
        pc = pd = base + n - 1
        while True:
            while pb <= pc:
                r = cmp(a[pb], pivot)
                if r > 0:
                    break
                if r == 0:
                    a[pa], a[pb] = a[pb], a[pa]
                    pa += 1
                pb += 1
            while pb <= pc:
                r = cmp(a[pc], pivot)
                if r < 0:
                    break
                if r == 0:
                    a[pc], a[pd] = a[pd], a[pc]
                    pd -= 1
                pc -= 1
            if pb > pc:
                break
            a[pb], a[pc] = a[pc], a[pb]
            pb += 1
            pc -= 1
        pn = base + n
        r = min(pa - base, pb - pa)
        _vecswap(a, base, pb - r, r)
        r = min(pd - pc, pn - pd - 1)
        _vecswap(a, pb, pn - r, r)
        r = pb - pa
        if r > 1 and not ((lrange < base and rrange < base)
                          or (lrange > base + r - 1 and rrange > base + r - 1)):
            pqsort(a, cmp, lrange, rrange, base, r)
        r = pd - pc
        if r <= 1:
            return
        base, n = pn - r, r
        if (lrange < base and rrange < base) or (lrange > pn - 1 and rrange > pn - 1):
            return


def _georadius_generic(c, argv, src: int, flags: int):
    db = c.db
    z = _get_zset(db, argv[src])
    s = Shape()
    storekey = None
    storedist = False
    if flags & RADIUS_COORDS:
        base = 6
        s.lon, s.lat = lonlat(argv, 2)
        radius_arg(argv, base - 2, s)
    elif flags & RADIUS_MEMBER:
        base = 5
        if z is not None:
            s.lon, s.lat = _member_pos(z, argv[2])
            radius_arg(argv, base - 2, s)
    else:
        base = 2
        if flags & GEOSEARCHSTORE:
            base = 3
            storekey = argv[1]
    withdist = withhash = withcoord = any_ = False
    frommember = fromloc = byradius = bybox = False
    sort = 0
    count = 0
    n = len(argv)
    i = base
    while i < n:
        rem = n - i - 1
        o = argv[i].lower()
        if o == b"withdist":
            withdist = True
        elif o == b"withhash":
            withhash = True
        elif o == b"withcoord":
            withcoord = True
        elif o == b"any":
            any_ = True
        elif o == b"asc":
            sort = 1
        elif o == b"desc":
            sort = -1
        elif o == b"count" and rem >= 1:
            from redpoll.commands.string import parse_int
            count = parse_int(argv[i + 1])
            if count <= 0:
                raise RedisError("ERR COUNT must be > 0")
            i += 1
        elif o == b"store" and rem >= 1 and not flags & (NOSTORE | GEOSEARCH):
            storekey, storedist = argv[i + 1], False
            i += 1
        elif o == b"storedist" and rem >= 1 and not flags & (NOSTORE | GEOSEARCH):
            storekey, storedist = argv[i + 1], True
            i += 1
        elif o == b"storedist" and flags & GEOSEARCH and flags & GEOSEARCHSTORE:
            storedist = True
        elif o == b"frommember" and rem >= 1 and flags & GEOSEARCH and not fromloc:
            if z is not None:
                s.lon, s.lat = _member_pos(z, argv[i + 1])
            frommember = True
            i += 1
        elif o == b"fromlonlat" and rem >= 2 and flags & GEOSEARCH and not frommember:
            s.lon, s.lat = lonlat(argv, i + 1)
            fromloc = True
            i += 2
        elif o == b"byradius" and rem >= 2 and flags & GEOSEARCH and not bybox:
            radius_arg(argv, i + 1, s)
            byradius = True
            i += 2
        elif o == b"bybox" and rem >= 3 and flags & GEOSEARCH and not byradius:
            box_arg(argv, i + 1, s)
            bybox = True
            i += 3
        else:
            raise RedisError(SYNTAX)
        i += 1
    if storekey is not None and (withdist or withhash or withcoord):
        what = "GEOSEARCHSTORE" if flags & GEOSEARCHSTORE else "STORE option in GEORADIUS"
        raise RedisError(f"ERR {what} is not compatible with WITHDIST, WITHHASH and "
                         f"WITHCOORD options")
    name = argv[0].decode("utf-8", "replace")
    if flags & GEOSEARCH and not (frommember or fromloc):
        raise RedisError(f"ERR exactly one of FROMMEMBER or FROMLONLAT can be specified "
                         f"for {name}")
    if flags & GEOSEARCH and not (byradius or bybox):
        raise RedisError(f"ERR exactly one of BYRADIUS and BYBOX can be specified for {name}")
    if any_ and not count:
        raise RedisError("ERR the ANY argument requires COUNT argument")
    if z is None:
        if storekey is not None:
            if db.delete(storekey):
                notify(c.server, GENERIC, "del", storekey, db.id)
                c.server.dirty += 1
            return 0
        return []
    if count and not sort and not any_:
        sort = 1
    found = search(z, s, count if any_ else 0)
    if not found and storekey is None:
        return []
    if sort:
        if count and count < len(found):
            # Redis: pqsort of the first COUNT (its own order for equal distances)
            sign = 1 if sort > 0 else -1
            pqsort(found, lambda p, q: sign * ((p[1] > q[1]) - (p[1] < q[1])), 0, count - 1)
        else:
            found.sort(key=lambda p: p[1], reverse=sort < 0)    # libc's qsort: a merge sort
    returned = found[:count] if count else found
    if storekey is None:
        out = []
        for member, dist, score, lon, lat in returned:
            dist /= s.conversion
            if not (withdist or withhash or withcoord):
                out.append(member)
                continue
            item = [member]
            if withdist:
                item.append(distance_reply(dist))
            if withhash:
                item.append(int(score))
            if withcoord:
                item.append([human_double(c, lon), human_double(c, lat)])
            out.append(item)
        return out
    res = ZSet()
    for member, dist, score, lon, lat in returned:
        res.add(member, dist / s.conversion if storedist else score)
    event = "geosearchstore" if flags & GEOSEARCH else "georadiusstore"
    if store_result(c, storekey, res, event):     # an empty result deletes storekey
        c.server.dirty += len(returned) - 1
    return len(returned)


def _store_keys(first: int):
    """getkeys for GEORADIUS*: the source key and a STORE/STOREDIST target."""
    def keys(argv):
        out = [1]
        i = first
        while i < len(argv):
            o = argv[i].lower()
            if o in (b"store", b"storedist") and i + 1 < len(argv):
                out.append(i + 1)
                i += 1
            i += 1
        return out
    return keys


@command("georadius", -6, "write denyoom", keys=(1, 1, 1), group=G, since="3.2.0",
         getkeys=_store_keys(6),
         summary="Queries a geospatial index for members within a distance from a "
                 "coordinate, optionally stores the result.")
def georadius(c, argv):
    return _georadius_generic(c, argv, 1, RADIUS_COORDS)


@command("georadiusbymember", -5, "write denyoom", keys=(1, 1, 1), group=G, since="3.2.0",
         getkeys=_store_keys(5),
         summary="Queries a geospatial index for members within a distance from a member, "
                 "optionally stores the result.")
def georadiusbymember(c, argv):
    return _georadius_generic(c, argv, 1, RADIUS_MEMBER)


@command("georadius_ro", -6, "readonly", keys=(1, 1, 1), group=G, since="3.2.10",
         summary="Returns members from a geospatial index that are within a distance from "
                 "a coordinate.")
def georadius_ro(c, argv):
    return _georadius_generic(c, argv, 1, RADIUS_COORDS | NOSTORE)


@command("georadiusbymember_ro", -5, "readonly", keys=(1, 1, 1), group=G, since="3.2.10",
         summary="Returns members from a geospatial index that are within a distance from "
                 "a member.")
def georadiusbymember_ro(c, argv):
    return _georadius_generic(c, argv, 1, RADIUS_MEMBER | NOSTORE)


@command("geosearch", -7, "readonly", keys=(1, 1, 1), group=G, since="6.2.0",
         summary="Queries a geospatial index for members inside an area of a box or a circle.")
def geosearch(c, argv):
    return _georadius_generic(c, argv, 1, GEOSEARCH)


@command("geosearchstore", -8, "write denyoom", keys=(1, 2, 1), group=G, since="6.2.0",
         summary="Queries a geospatial index for members inside an area of a box or a "
                 "circle, optionally stores the result.")
def geosearchstore(c, argv):
    return _georadius_generic(c, argv, 2, GEOSEARCH | GEOSEARCHSTORE)


def _specs():
    from redpoll.commands.keyspecs import set_specs, spec
    set_specs("geosearchstore", spec("OW update", 1), spec("RO access", 2))
    for name, start in (("georadius", 6), ("georadiusbymember", 5)):
        set_specs(name, spec("RO access", 1),
                  spec("OW update", keyword=b"STORE", startfrom=start),
                  spec("OW update", keyword=b"STOREDIST", startfrom=start))


_specs()
