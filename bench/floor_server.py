"""The floor a Python server stands on: the least a uvloop + hiredis server
can do per request (parse, one dict operation, one write per read) with none
of Redis's semantics. bench/floor.py measures it against real Redis to tell
what redpoll's own code costs from what the runtime costs.

    python bench/floor_server.py --port N   (other redis-server flags ignored)
"""

import asyncio
import sys

import hiredis
import uvloop

store: dict = {}


class Floor(asyncio.Protocol):
    def connection_made(self, transport):
        self.t = transport
        self.r = hiredis.Reader()

    def data_received(self, data):
        r = self.r
        r.feed(data)
        out = []
        while True:
            try:
                a = r.gets()
            except hiredis.ProtocolError:       # an inline PING (readiness check)
                self.r = r = hiredis.Reader()
                out.append(b"+PONG\r\n")
                break
            if a is False:
                break
            c = a[0].upper()
            if c == b"SET":
                store[a[1]] = a[2]
                out.append(b"+OK\r\n")
            elif c == b"GET":
                v = store.get(a[1])
                out.append(b"$-1\r\n" if v is None else b"$%d\r\n%b\r\n" % (len(v), v))
            else:
                out.append(b"+PONG\r\n")
        self.t.write(b"".join(out))


async def main(port: int) -> None:
    srv = await asyncio.get_running_loop().create_server(Floor, "127.0.0.1", port)
    await srv.serve_forever()


if __name__ == "__main__":
    uvloop.run(main(int(sys.argv[sys.argv.index("--port") + 1])))
