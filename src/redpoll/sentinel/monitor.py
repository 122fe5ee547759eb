"""The sentinel's state and its monitoring loop.

:class:`Sentinel` (``server.sentinel``) holds the monitored masters (each with
its replicas and the other sentinels watching it), the epochs and the
sentinel-wide settings. Its timer (10-19 times a second, as Redis's
``sentinelTimer``) walks every instance:

* keeps the command and pub/sub links connected (AUTH, CLIENT SETNAME,
  SUBSCRIBE ``__sentinel__:hello``);
* sends PING every second, INFO every 10 s (every second to replicas of a
  master that is down or failing over, every 20 ms to a replica being
  promoted), and a hello message every 2 s;
* parses INFO (run id, replicas, role, replication link, priority, offset)
  and hello messages (other sentinels, epochs, newer master configurations);
* decides subjective down (no valid PING reply within down-after) and, for
  masters, objective down by asking the other sentinels with
  ``SENTINEL IS-MASTER-DOWN-BY-ADDR``, then drives the failover state machine
  (:mod:`.failover`, leader election in :mod:`.election`);
* enters TILT mode when the clock jumps.

Events are logged, published on the sentinel's own pub/sub channels and
passed to the notification script, with Redis's texts.
"""

from __future__ import annotations

import os
import random

import hiredis

from redpoll.log import DEBUG, NOTICE, VERBOSE, WARNING, log
from redpoll.sentinel import failover
from redpoll.sentinel.instance import (
    FO_NONE, FO_SELECT_SLAVE, FO_SEND_SLAVEOF_NOONE, FO_UPDATE_CONFIG,
    FO_WAIT_PROMOTION, LINK_DOWN,
    LINK_UP, SRI_FAILOVER_IN_PROGRESS, SRI_MASTER, SRI_MASTER_DOWN,
    SRI_MASTER_REBOOT, SRI_O_DOWN, SRI_OLD_MASTER, SRI_PROMOTED, SRI_RECONF_DONE,
    SRI_RECONF_INPROG, SRI_RECONF_SENT, SRI_S_DOWN, SRI_SCRIPT_KILL_SENT,
    SRI_SENTINEL, SRI_SLAVE, Addr, Conn, CreateError, Instance, Link, addr_and_port,
    atoi, mstime)
from redpoll.sentinel.scripts import Scripts

HELLO_CHANNEL = "__sentinel__:hello"

# SENTINEL DEBUG parameters (milliseconds), in the order Redis lists them.
DEFAULT_PERIODS = {
    "info-period": 10000, "ping-period": 1000, "ask-period": 1000,
    "publish-period": 2000, "default-down-after": 30000,
    "default-failover-timeout": 180000, "tilt-trigger": 2000, "tilt-period": 30000,
    "slave-reconf-timeout": 10000, "min-link-reconnect-period": 15000,
    "election-timeout": 10000, "script-max-runtime": 60000,
    "script-retry-delay": 30000,
}

RESET_NO_SENTINELS = 1
# a timer tick later than STALL_MS (the slowest schedule is every TICK_MS)
# means the sentinel was stalled: see Sentinel.forgive_stall
TICK_MS = 100
STALL_MS = 300
GENERATE_EVENT = 1 << 16


class Sentinel:
    """Sentinel-wide state (Redis's ``struct sentinelState``) and the timer."""

    def __init__(self, server):
        self.server = server
        self.myid = ""
        self.current_epoch = 0
        self.masters: dict[str, Instance] = {}
        self.tilt = False
        self.tilt_start_time = 0
        self.previous_time = mstime()
        self.announce_ip: str | None = None
        self.announce_port = 0
        self.simfailure_flags = 0
        self.deny_scripts_reconfig = True
        self.sentinel_auth_pass: str | None = None
        self.sentinel_auth_user: str | None = None
        self.resolve_hostnames = False
        self.announce_hostnames = False
        self.p = dict(DEFAULT_PERIODS)
        self.scripts = Scripts(self)
        self.config_file: str | None = None
        self._timer = None

    # -- helpers ---------------------------------------------------------------
    def announce_addr(self, a: Addr) -> str:
        return a.hostname if self.announce_hostnames else a.ip

    def announce_addr_port(self, a: Addr) -> str:
        return addr_and_port(self.announce_addr(a), a.port)

    def new_addr(self, host: str, port: int) -> Addr:
        return Addr(host, port, self.resolve_hostnames)

    def addr_equals_host(self, a: Addr, host: str | None) -> bool:
        if host is None:
            return False
        try:
            ip = self.new_addr(host, a.port).ip
        except CreateError:
            return False
        return a.ip.lower() == ip.lower()

    def create_instance(self, name: str | None, flags: int, host: str, port: int,
                        quorum: int, master: Instance | None) -> Instance:
        """createSentinelRedisInstance: raises CreateError with Redis's text."""
        try:
            port = int(port)
        except (TypeError, ValueError):
            port = 0
        addr = self.new_addr(host, port)
        if flags & SRI_MASTER:
            table = self.masters
        elif flags & SRI_SLAVE:
            table = master.slaves
            name = self.announce_addr_port(addr)
        else:
            table = master.sentinels
        if name in table:
            raise CreateError({SRI_MASTER: "Duplicate master name.",
                               SRI_SLAVE: "Duplicate hostname and port for replica.",
                               SRI_SENTINEL: "Duplicate runid for sentinel."}[
                flags & (SRI_MASTER | SRI_SLAVE | SRI_SENTINEL)])
        ri = Instance(name, flags, addr, quorum, master, self.p["default-down-after"],
                      self.p["default-failover-timeout"])
        table[name] = ri
        return ri

    def lookup_slave(self, master: Instance, host: str, port: int) -> Instance | None:
        try:
            addr = self.new_addr(host, port)
        except CreateError:
            return None
        return master.slaves.get(self.announce_addr_port(addr))

    def by_addr_and_runid(self, instances: dict, host: str | None, port: int,
                          runid: str | None) -> Instance | None:
        ip = None
        if host is not None:
            try:
                ip = self.new_addr(host, port).ip
            except CreateError:
                return None
        for ri in instances.values():
            if runid is not None and ri.runid is None:
                continue
            if ((runid is None or ri.runid == runid) and
                    (ip is None or (ri.addr.ip == ip and ri.addr.port == port))):
                return ri
        return None

    def release_instance(self, ri: Instance) -> None:
        for s in list(ri.slaves.values()) + list(ri.sentinels.values()):
            self.release_link(s)
        self.release_link(ri)

    # -- shared links (Redis's link refcount) -------------------------------------
    def try_connection_sharing(self, ri: Instance) -> bool:
        """sentinelTryConnectionSharing: a sentinel that also watches another
        of our masters is already connected: use that link (one PING stream,
        one connection) instead of a second one."""
        if not ri.flags & SRI_SENTINEL or ri.runid is None or ri.link.refcount > 1:
            return False
        for master in self.masters.values():
            if master is ri.master:
                continue
            match = self.by_addr_and_runid(master.sentinels, None, 0, ri.runid)
            if match is None or match.link is ri.link:
                continue
            self.release_link(ri)
            ri.link = match.link
            match.link.refcount += 1
            return True
        return False

    def release_link(self, ri: Instance) -> None:
        """releaseInstanceLink: ``ri`` goes away; its link is closed when no
        other instance shares it."""
        link = ri.link
        link.refcount -= 1
        if link.refcount <= 0:
            link.close_all()
        ri.link = Link()
        ri.link.refcount = 0      # detached: nothing to release twice

    # -- events ------------------------------------------------------------------
    def event(self, level: int, kind: str, ri: Instance | None, fmt: str) -> None:
        """sentinelEvent: log, publish on channel ``kind``, notification script.
        ``fmt`` starting with ``%@`` is replaced by the instance description."""
        if fmt.startswith("%@"):
            master = None if ri.flags & SRI_MASTER else ri.master
            a = ri.addr
            msg = f"{ri.type_str} {ri.name} {self.announce_addr(a)} {a.port}"
            if master is not None:
                ma = master.addr
                msg += f" @ {master.name} {self.announce_addr(ma)} {ma.port}"
            msg += fmt[2:]
        else:
            msg = fmt
        log.log(level, f"{kind} {msg}")
        if level != DEBUG:
            self.server.publish(kind.encode(), msg.encode("utf-8", "surrogateescape"))
        if level == WARNING and ri is not None:
            master = ri if ri.flags & SRI_MASTER else ri.master
            if master is not None and master.notification_script:
                self.scripts.schedule(master.notification_script, kind, msg)

    def call_client_reconf_script(self, master: Instance, role: str, state: str,
                                  frm: Addr, to: Addr) -> None:
        if master.client_reconfig_script:
            self.scripts.schedule(master.client_reconfig_script, master.name, role, state,
                                  self.announce_addr(frm), str(frm.port),
                                  self.announce_addr(to), str(to.port))

    def flush_config(self) -> bool:
        from redpoll.sentinel.config import flush_config
        return flush_config(self)

    # -- lifecycle ---------------------------------------------------------------
    def start(self) -> None:
        if not self.myid:
            self.myid = os.urandom(20).hex()
            self.flush_config()
        log.warning(f"Sentinel ID is {self.myid}")
        for ri in self.masters.values():
            self.event(WARNING, "+monitor", ri, f"%@ quorum {ri.quorum}")
        self.previous_time = mstime()
        self._schedule()

    def _schedule(self) -> None:
        hz = 10 + random.randrange(10)
        # redpoll: tick faster while a master is down or failing over
        if any(m.flags & (SRI_S_DOWN | SRI_FAILOVER_IN_PROGRESS)
               for m in self.masters.values()):
            hz = 50
        self._timer = self.server.loop.call_later(1.0 / hz, self.timer)

    def timer(self) -> None:
        try:
            self.check_tilt()
            self.handle_dict(self.masters)
            self.scripts.run_pending()
            self.scripts.collect_terminated()
            self.scripts.kill_timed_out()
        except Exception as e:   # never let the monitor die
            import traceback
            log.warning(f"sentinel timer error: {e!r}")
            log.verbose(traceback.format_exc())
        finally:
            self._schedule()

    def check_tilt(self) -> None:
        now = mstime()
        delta = now - self.previous_time
        if delta < 0 or delta > self.p["tilt-trigger"]:
            self.tilt = True
            self.tilt_start_time = mstime()
            self.event(WARNING, "+tilt", None, "#tilt mode entered")
        elif delta > STALL_MS:
            self.forgive_stall(delta - TICK_MS)
        self.previous_time = mstime()

    def forgive_stall(self, ms: int) -> None:
        """redpoll: the sentinel itself did not run for ``ms`` (a loaded
        machine; shorter than the TILT trigger). Replies could not be read
        meanwhile, so that time does not count against the instances: their
        down-detection clocks move forward by it. Without this a sentinel
        stalled for down-after milliseconds saw every instance +sdown at once
        and could start a needless failover."""
        links = {id(ri.link): ri.link for master in self.masters.values()
                 for ri in (master, *master.slaves.values(), *master.sentinels.values())}
        for link in links.values():        # a shared link moves once
            if link.act_ping_time:
                link.act_ping_time += ms
            link.last_avail_time += ms

    def handle_dict(self, instances: dict) -> None:
        switch_to = None
        for ri in list(instances.values()):
            self.handle_instance(ri)
            if ri.flags & SRI_MASTER:
                self.handle_dict(ri.slaves)
                self.handle_dict(ri.sentinels)
                if ri.failover_state == FO_UPDATE_CONFIG:
                    switch_to = ri
        if switch_to is not None:
            failover.switch_to_promoted(self, switch_to)

    def handle_instance(self, ri: Instance) -> None:
        self.reconnect(ri)
        self.send_periodic(ri)
        if self.tilt:
            if mstime() - self.tilt_start_time < self.p["tilt-period"]:
                return
            self.tilt = False
            self.event(WARNING, "-tilt", None, "#tilt mode exited")
        self.check_sdown(ri)
        if ri.flags & SRI_MASTER:
            self.check_odown(ri)
            if failover.start_if_needed(self, ri):
                self.ask_master_state(ri, forced=True)
            failover.state_machine(self, ri)
            self.ask_master_state(ri, forced=False)

    # -- links -------------------------------------------------------------------
    def reconnect(self, ri: Instance) -> None:
        link = ri.link
        if not link.disconnected or ri.addr.port == 0:
            return
        now = mstime()
        if now - link.last_reconn_time < self.p["ping-period"]:
            return
        if link.last_reconn_time == 0:
            link.start_clocks(now)
        link.last_reconn_time = now
        loop = self.server.loop
        timeout = max(1.0, min(ri.down_after_period, 10000) / 1000)
        if link.cc is None:
            cc = link.cc = Conn(link, pubsub=False)
            cc.start(loop, ri.addr.ip, ri.addr.port, timeout)
            link.pending_commands = 0
            link.cc_conn_time = mstime()
            self._send_auth(ri, cc)
            self._set_name(ri, cc, "cmd")
            self.send_ping(ri)
        if ri.flags & (SRI_MASTER | SRI_SLAVE) and link.pc is None:
            pc = link.pc = Conn(link, pubsub=True)
            pc.on_message = lambda r, ri=ri: self.receive_hello(ri, r)
            pc.start(loop, ri.addr.ip, ri.addr.port, timeout)
            link.pc_conn_time = mstime()
            self._send_auth(ri, pc)
            self._set_name(ri, pc, "pubsub")
            pc.send([ri.map_command("SUBSCRIBE"), HELLO_CHANNEL], None)
        if link.cc is not None and (ri.flags & SRI_SENTINEL or link.pc is not None):
            link.disconnected = False

    def _send_auth(self, ri: Instance, conn: Conn) -> None:
        if ri.flags & SRI_MASTER:
            pw, user = ri.auth_pass, ri.auth_user
        elif ri.flags & SRI_SLAVE:
            pw, user = ri.master.auth_pass, ri.master.auth_user
        elif self.sentinel_auth_pass:
            pw, user = self.sentinel_auth_pass, self.sentinel_auth_user
        else:
            pw, user = self.server.config["requirepass"] or None, None
        if pw and user is None:
            conn.send([ri.map_command("AUTH"), pw])
        elif pw and user:
            conn.send([ri.map_command("AUTH"), user, pw])

    def _set_name(self, ri: Instance, conn: Conn, kind: str) -> None:
        conn.send([ri.map_command("CLIENT"), "SETNAME",
                   f"sentinel-{self.myid[:8]}-{kind}"])

    def send_ping(self, ri: Instance) -> bool:
        cc = ri.link.cc
        if cc is None or not cc.send([ri.map_command("PING")],
                                     lambda r: self.ping_reply(ri, r)):
            return False
        link = ri.link
        link.last_ping_time = mstime()
        if link.act_ping_time == 0:
            link.act_ping_time = link.last_ping_time
        return True

    def send_periodic(self, ri: Instance) -> None:
        link = ri.link
        if link.disconnected or link.cc is None:
            return
        if link.pending_commands >= 100 * link.refcount:
            return
        now = mstime()
        if ri.flags & SRI_SLAVE and (
                ri.master.flags & (SRI_O_DOWN | SRI_FAILOVER_IN_PROGRESS)
                or ri.master_link_down_time != 0):
            info_period = 1000
        else:
            info_period = self.p["info-period"]
        # redpoll: watch the replica being promoted closely, and a former
        # master that answers again (so it is demoted at once)
        if ri.flags & SRI_PROMOTED and ri.master.failover_state in (
                FO_SEND_SLAVEOF_NOONE, FO_WAIT_PROMOTION):
            info_period = 20
        elif (ri.flags & SRI_SLAVE and ri.master.failover_state == FO_SELECT_SLAVE
              and ri.info_refresh < ri.master.s_down_since_time):
            info_period = 0        # see failover._fresh_offsets
        elif ri.flags & SRI_OLD_MASTER and ri.role_reported != SRI_SLAVE:
            info_period = 250
        ping_period = min(ri.down_after_period, self.p["ping-period"])
        if not ri.flags & SRI_SENTINEL and (
                ri.info_refresh == 0 or now - ri.info_refresh > info_period):
            # one INFO at a time per connection (replies can be slow to come)
            if ri.info_pending_on is not link.cc:
                ri.info_pending_on = link.cc
                link.cc.send([ri.map_command("INFO")], lambda r: self.info_reply(ri, r))
        if (now - link.last_pong_time > ping_period
                and now - link.last_ping_time > ping_period / 2):
            self.send_ping(ri)
        if now - ri.last_pub_time > self.p["publish-period"]:
            self.send_hello(ri)

    # -- replies -----------------------------------------------------------------
    def ping_reply(self, ri: Instance, r) -> None:
        link = ri.link
        if isinstance(r, hiredis.ReplyError):
            s = str(r)
            if s.startswith(("LOADING", "MASTERDOWN")):
                link.last_avail_time = mstime()
                link.act_ping_time = 0
            elif (s.startswith("BUSY") and ri.flags & SRI_S_DOWN
                  and not ri.flags & SRI_SCRIPT_KILL_SENT):
                if link.cc is not None:
                    link.cc.send([ri.map_command("SCRIPT"), "KILL"])
                ri.flags |= SRI_SCRIPT_KILL_SENT
        elif isinstance(r, bytes) and r.startswith(b"PONG"):
            link.last_avail_time = mstime()
            link.act_ping_time = 0
            if ri.flags & SRI_MASTER_REBOOT:
                ri.flags &= ~SRI_MASTER_REBOOT
        link.last_pong_time = mstime()

    def info_reply(self, ri: Instance, r) -> None:
        ri.info_pending_on = None
        if isinstance(r, bytes):
            self.refresh_info(ri, r.decode("utf-8", "replace"))

    def refresh_info(self, ri: Instance, info: str) -> None:
        """sentinelRefreshInstanceInfo: learn from an INFO reply and act on
        role changes (promotion seen, stale master demoted, replica fixed)."""
        ri.info = info
        ri.master_link_down_time = 0
        role = 0
        for line in info.split("\r\n"):
            if line.startswith("run_id:") and len(line) >= 47:
                runid = line[7:47]
                if ri.runid is None:
                    ri.runid = runid
                elif ri.runid != runid:
                    self.event(NOTICE, "+reboot", ri, "%@")
                    if ri.flags & SRI_MASTER and ri.master_reboot_down_after_period:
                        ri.flags |= SRI_MASTER_REBOOT
                        ri.master_reboot_since_time = mstime()
                    ri.runid = runid
            elif (ri.flags & SRI_MASTER and line.startswith("slave")
                  and len(line) >= 7 and line[5].isdigit()):
                self._info_slave_line(ri, line)
            elif line.startswith("master_link_down_since_seconds:"):
                try:
                    ri.master_link_down_time = int(line[31:]) * 1000
                except ValueError:
                    pass
            elif line.startswith("master_repl_offset:"):
                try:
                    ri.master_repl_offset = int(line[19:])
                except ValueError:
                    pass
            if line.startswith("role:master"):
                role = SRI_MASTER
            elif line.startswith("role:slave"):
                role = SRI_SLAVE
            if role == SRI_SLAVE:
                if line.startswith("master_host:"):
                    host = line[12:]
                    if ri.slave_master_host is None or host.lower() != ri.slave_master_host.lower():
                        ri.slave_master_host = host
                        ri.slave_conf_change_time = mstime()
                elif line.startswith("master_port:"):
                    port = atoi(line[12:])
                    if ri.slave_master_port != port:
                        ri.slave_master_port = port
                        ri.slave_conf_change_time = mstime()
                elif line.startswith("master_link_status:"):
                    ri.slave_master_link_status = (
                        LINK_UP if line[19:].lower() == "up" else LINK_DOWN)
                elif line.startswith("slave_priority:"):
                    ri.slave_priority = atoi(line[15:])
                elif line.startswith("slave_repl_offset:"):
                    ri.slave_repl_offset = atoi(line[18:])
                elif line.startswith("replica_announced:"):
                    ri.replica_announced = atoi(line[18:])
        ri.info_refresh = mstime()
        if role != ri.role_reported:
            ri.role_reported_time = mstime()
            ri.role_reported = role
            if role == SRI_SLAVE:
                ri.slave_conf_change_time = mstime()
            kind = ("+role-change" if (ri.flags & (SRI_MASTER | SRI_SLAVE)) == role
                    else "-role-change")
            self.event(VERBOSE, kind, ri, "%@ new reported role is "
                       + ("master" if role == SRI_MASTER else "slave"))
        if role == SRI_SLAVE and ri.flags & SRI_OLD_MASTER:
            # the former master follows a master now: from here on it is an
            # ordinary replica. If a later failover promotes it, the quick
            # demotion below must not undo that failover before this
            # sentinel hears of it (Redis's 8 s grace time applies again).
            ri.flags &= ~SRI_OLD_MASTER
        if self.tilt:
            return
        master = ri.master
        if ri.flags & SRI_SLAVE and role == SRI_MASTER:
            if (ri.flags & SRI_PROMOTED and master.flags & SRI_FAILOVER_IN_PROGRESS
                    and master.failover_state == FO_WAIT_PROMOTION):
                failover.promotion_seen(self, ri)
            else:
                wait_time = self.p["publish-period"] * 4
                if ri.flags & SRI_OLD_MASTER:
                    # redpoll: the former master returning after the switch,
                    # still unaware of it (it has not reported role:slave
                    # since): demote it now, not after Redis's 8 s
                    wait_time = -1
                if (not ri.flags & SRI_PROMOTED and self.master_looks_sane(master)
                        and ri.no_down_for(wait_time)
                        and mstime() - ri.role_reported_time > wait_time):
                    if failover.send_slaveof(self, ri, master.addr):
                        self.event(NOTICE, "+convert-to-slave", ri, "%@")
        if (ri.flags & SRI_SLAVE and role == SRI_SLAVE and
                (ri.slave_master_port != master.addr.port or
                 not self.addr_equals_host(master.addr, ri.slave_master_host))):
            wait_time = master.failover_timeout
            if (self.master_looks_sane(master) and ri.no_down_for(wait_time)
                    and mstime() - ri.slave_conf_change_time > wait_time):
                if failover.send_slaveof(self, ri, master.addr):
                    self.event(NOTICE, "+fix-slave-config", ri, "%@")
        if (ri.flags & SRI_SLAVE and role == SRI_SLAVE
                and ri.flags & (SRI_RECONF_SENT | SRI_RECONF_INPROG)):
            promoted = master.promoted_slave
            if (ri.flags & SRI_RECONF_SENT and promoted is not None
                    and ri.slave_master_host
                    and self.addr_equals_host(promoted.addr, ri.slave_master_host)
                    and ri.slave_master_port == promoted.addr.port):
                ri.flags = (ri.flags & ~SRI_RECONF_SENT) | SRI_RECONF_INPROG
                self.event(NOTICE, "+slave-reconf-inprog", ri, "%@")
            if ri.flags & SRI_RECONF_INPROG and ri.slave_master_link_status == LINK_UP:
                ri.flags = (ri.flags & ~SRI_RECONF_INPROG) | SRI_RECONF_DONE
                self.event(NOTICE, "+slave-reconf-done", ri, "%@")

    def _info_slave_line(self, ri: Instance, line: str) -> None:
        body = line.split(":", 1)[1] if ":" in line else ""
        if "ip=" in body:
            fields = dict(f.split("=", 1) for f in body.split(",") if "=" in f)
            ip, port = fields.get("ip"), fields.get("port")
            if ip is None or port is None:
                return
        else:       # old format: slave0:<ip>,<port>,<state>
            parts = body.split(",")
            if len(parts) < 3:
                return
            ip, port = parts[0], parts[1]
        port = atoi(port)
        if self.lookup_slave(ri, ip, port) is None:
            try:
                slave = self.create_instance(None, SRI_SLAVE, ip, port, ri.quorum, ri)
            except CreateError:
                return
            self.event(NOTICE, "+slave", slave, "%@")
            self.flush_config()

    def master_looks_sane(self, master: Instance) -> bool:
        return bool(master.flags & SRI_MASTER and master.role_reported == SRI_MASTER
                    and not master.flags & (SRI_S_DOWN | SRI_O_DOWN)
                    and mstime() - master.info_refresh < self.p["info-period"] * 2)

    # -- hello messages ----------------------------------------------------------
    def send_hello(self, ri: Instance) -> bool:
        master = ri if ri.flags & SRI_MASTER else ri.master
        maddr = failover.current_master_addr(master)
        link = ri.link
        if link.disconnected or link.cc is None:
            return False
        if self.announce_ip:
            ip = self.announce_ip
        else:
            sock = link.cc.sockname
            if not sock:
                return False
            ip = sock[0]
        port = self.announce_port or self.server.port
        payload = (f"{ip},{port},{self.myid},{self.current_epoch},{master.name},"
                   f"{self.announce_addr(maddr)},{maddr.port},{master.config_epoch}")

        def done(r, ri=ri):
            if not isinstance(r, hiredis.ReplyError):
                ri.last_pub_time = mstime()
        return link.cc.send([ri.map_command("PUBLISH"), HELLO_CHANNEL, payload], done)

    def force_hello_update(self, master: Instance) -> None:
        step = self.p["publish-period"] + 1
        for ri in [master, *master.sentinels.values(), *master.slaves.values()]:
            if ri.last_pub_time >= step:
                ri.last_pub_time -= step

    def receive_hello(self, ri: Instance, r) -> None:
        if (not isinstance(r, list) or len(r) != 3 or r[0] != b"message"
                or not all(isinstance(x, bytes) for x in r)):
            return
        msg = r[2].decode("utf-8", "replace")
        if self.myid in msg:
            return
        self.process_hello(msg)

    def process_hello(self, hello: str) -> None:
        """A hello message (from a monitored server's channel, or PUBLISHed to
        us): learn the sender, its epoch and its view of the master."""
        tok = hello.split(",")
        if len(tok) != 8:
            return
        master = self.masters.get(tok[4])
        if master is None:
            return
        port, master_port = atoi(tok[1]), atoi(tok[6])
        runid = tok[2]
        si = self.by_addr_and_runid(master.sentinels, tok[0], port, runid)
        current_epoch, master_config_epoch = atoi(tok[3]), atoi(tok[7])
        if si is None:
            removed = [k for k, s in master.sentinels.items() if s.runid == runid]
            for k in removed:
                self.release_link(master.sentinels.pop(k))
            if removed:
                self.event(NOTICE, "+sentinel-address-switch", master,
                           f"%@ ip {tok[0]} port {port} for {runid}")
            else:
                other = self.by_addr_and_runid(master.sentinels, tok[0], port, None)
                if other is not None:
                    self.event(NOTICE, "+sentinel-invalid-addr", other, "%@")
                    other.addr.port = 0
                    self.update_sentinel_addr_everywhere(other)
            try:
                si = self.create_instance(runid, SRI_SENTINEL, tok[0], port,
                                          master.quorum, master)
            except CreateError:
                si = None
            if si is not None:
                if not removed:
                    self.event(NOTICE, "+sentinel", si, "%@")
                si.runid = runid
                self.try_connection_sharing(si)
                if removed:
                    self.update_sentinel_addr_everywhere(si)
                self.flush_config()
        if current_epoch > self.current_epoch:
            self.current_epoch = current_epoch
            self.flush_config()
            self.event(WARNING, "+new-epoch", master, str(self.current_epoch))
        if si is not None and master.config_epoch < master_config_epoch:
            master.config_epoch = master_config_epoch
            if (master_port != master.addr.port
                    or not self.addr_equals_host(master.addr, tok[5])):
                self.event(WARNING, "+config-update-from", si, "%@")
                self.event(WARNING, "+switch-master", master,
                           f"{master.name} {self.announce_addr(master.addr)} "
                           f"{master.addr.port} {tok[5]} {master_port}")
                old = master.addr.copy()
                if self.reset_master_and_change_address(master, tok[5], master_port):
                    self.call_client_reconf_script(master, "observer", "start",
                                                   old, master.addr)
        if si is not None:
            si.last_hello_time = mstime()

    def update_sentinel_addr_everywhere(self, ri: Instance) -> int:
        n = 0
        for master in self.masters.values():
            match = self.by_addr_and_runid(master.sentinels, None, 0, ri.runid)
            if match is None:
                continue
            match.link.close_all()
            if match.addr.port == 0:
                self.release_link(master.sentinels.pop(match.name))
            if match is ri:
                continue
            match.addr = ri.addr.copy()
            n += 1
        if n:
            self.event(NOTICE, "+sentinel-address-update", ri,
                       f"%@ {n} additional matching instances")
        return n

    # -- down detection ------------------------------------------------------------
    def check_sdown(self, ri: Instance) -> None:
        link = ri.link
        now = mstime()
        elapsed = 0
        if link.act_ping_time:
            elapsed = now - link.act_ping_time
        elif link.disconnected:
            elapsed = now - link.last_avail_time
        half = ri.down_after_period / 2
        if (link.cc is not None
                and now - link.cc_conn_time > self.p["min-link-reconnect-period"]
                and link.act_ping_time and now - link.act_ping_time > half
                and now - link.last_pong_time > half):
            link.close(link.cc)
        if (link.pc is not None
                and now - link.pc_conn_time > self.p["min-link-reconnect-period"]
                and now - link.pc_last_activity > self.p["publish-period"] * 3):
            link.close(link.pc)
        if (elapsed > ri.down_after_period
                or (ri.flags & SRI_MASTER and ri.role_reported == SRI_SLAVE
                    and now - ri.role_reported_time
                    > ri.down_after_period + self.p["info-period"] * 2)
                or (ri.flags & SRI_MASTER_REBOOT
                    and now - ri.master_reboot_since_time
                    > ri.master_reboot_down_after_period)):
            if not ri.flags & SRI_S_DOWN:
                self.event(WARNING, "+sdown", ri, "%@")
                ri.s_down_since_time = mstime()
                ri.flags |= SRI_S_DOWN
        elif ri.flags & SRI_S_DOWN:
            self.event(WARNING, "-sdown", ri, "%@")
            ri.flags &= ~(SRI_S_DOWN | SRI_SCRIPT_KILL_SENT)

    def check_odown(self, master: Instance) -> None:
        quorum = 0
        odown = False
        if master.flags & SRI_S_DOWN:
            quorum = 1 + sum(1 for s in master.sentinels.values()
                             if s.flags & SRI_MASTER_DOWN)
            odown = quorum >= master.quorum
        if odown:
            if not master.flags & SRI_O_DOWN:
                self.event(WARNING, "+odown", master,
                           f"%@ #quorum {quorum}/{master.quorum}")
                master.flags |= SRI_O_DOWN
                master.o_down_since_time = mstime()
        elif master.flags & SRI_O_DOWN:
            self.event(WARNING, "-odown", master, "%@")
            master.flags &= ~SRI_O_DOWN

    def ask_master_state(self, master: Instance, forced: bool) -> None:
        """SENTINEL IS-MASTER-DOWN-BY-ADDR to the other sentinels (asking for
        their vote once our failover has started)."""
        now = mstime()
        period = self.p["ask-period"]
        if not master.flags & SRI_O_DOWN:
            # redpoll: until the quorum agrees, ask again every 100 ms (the
            # others may detect the failure a little after us)
            period = min(period, 100)
        for ri in master.sentinels.values():
            if now - ri.last_master_down_reply_time > self.p["ask-period"] * 5:
                ri.flags &= ~SRI_MASTER_DOWN
                ri.leader = None
            if not master.flags & SRI_S_DOWN:
                continue
            if ri.link.disconnected or ri.link.cc is None:
                continue
            if not forced and now - ri.last_master_down_reply_time < period:
                continue
            if not forced and ri.asking_on is ri.link.cc:
                continue       # an answer is still awaited on this connection
            runid = self.myid if master.failover_state > FO_NONE else "*"
            ri.asking_on = ri.link.cc
            ri.link.cc.send(
                [ri.map_command("SENTINEL"), "is-master-down-by-addr",
                 self.announce_addr(master.addr), str(master.addr.port),
                 str(self.current_epoch), runid],
                lambda r, ri=ri, master=master, addr=master.addr:
                self.is_master_down_reply(ri, master, addr, r))

    def is_master_down_reply(self, ri: Instance, master: Instance, addr: Addr,
                             r) -> None:
        ri.asking_on = None
        if not (isinstance(r, list) and len(r) == 3 and isinstance(r[0], int)
                and isinstance(r[1], bytes) and isinstance(r[2], int)):
            return
        # redpoll: ignore answers about a master address we no longer use
        # (late votes about the old master must not count for the new one)
        if master.addr is not addr or master.name not in self.masters:
            return
        ri.last_master_down_reply_time = mstime()
        if r[0] == 1:
            ri.flags |= SRI_MASTER_DOWN
        else:
            ri.flags &= ~SRI_MASTER_DOWN
        leader = r[1].decode()
        if leader != "*":
            if ri.leader_epoch != r[2]:
                log.warning(f"{ri.name} voted for {leader} {r[2]}")
            ri.leader = leader
            ri.leader_epoch = r[2]

    # -- reset ---------------------------------------------------------------------
    def reset_master(self, ri: Instance, flags: int) -> None:
        for s in ri.slaves.values():
            self.release_link(s)
        ri.slaves = {}
        if not flags & RESET_NO_SENTINELS:
            for s in ri.sentinels.values():
                self.release_link(s)
            ri.sentinels = {}
        else:
            # redpoll: "master is down" answers and votes were about the old
            # master: forget them, so they cannot start a second failover
            for s in ri.sentinels.values():
                s.flags &= ~SRI_MASTER_DOWN
                s.leader = None
                s.last_master_down_reply_time = mstime()
        ri.link.close_all()
        ri.flags &= SRI_MASTER
        ri.leader = None
        ri.failover_state = FO_NONE
        ri.failover_state_change_time = 0
        ri.failover_start_time = 0
        ri.promoted_slave = None
        ri.runid = None
        ri.slave_master_host = None
        now = mstime()
        ri.link.act_ping_time = now
        ri.link.last_ping_time = 0
        ri.link.last_avail_time = now
        ri.link.last_pong_time = now
        ri.role_reported_time = now
        ri.role_reported = SRI_MASTER
        ri.info_refresh = 0
        ri.info = None
        if flags & GENERATE_EVENT:
            self.event(WARNING, "+reset-master", ri, "%@")

    def reset_by_pattern(self, pattern: bytes, flags: int) -> int:
        from redpoll import glob
        n = 0
        for ri in self.masters.values():
            if glob.match(pattern, ri.name.encode("utf-8", "surrogateescape")):
                self.reset_master(ri, flags)
                n += 1
        return n

    def reset_master_and_change_address(self, master: Instance, host: str,
                                        port: int) -> bool:
        try:
            newaddr = self.new_addr(host, port)
        except CreateError:
            return False
        keep = [(s.addr.copy(), False) for s in master.slaves.values()
                if not s.addr.same(newaddr)]
        if not newaddr.same(master.addr):
            keep.append((master.addr.copy(), True))
        self.reset_master(master, RESET_NO_SENTINELS)
        master.addr = newaddr
        master.o_down_since_time = 0
        master.s_down_since_time = 0
        for a, was_master in keep:
            try:
                slave = self.create_instance(None, SRI_SLAVE, a.hostname, a.port,
                                             master.quorum, master)
            except CreateError:
                continue
            if was_master:
                slave.flags |= SRI_OLD_MASTER
            self.event(NOTICE, "+slave", slave, "%@")
        self.flush_config()
        return True

