#!/usr/bin/env python3
"""pysim: a small simulator of fork, memory and file descriptors speaking the forkspec wire
protocol (docs/protocol.md) on stdin/stdout. Python 3, standard library only.

    forkspec check --backend exec:'python3 examples/pysim/pysim.py' --level semantic

It implements the op kinds listed in OPS (announced in its hello; forkspec generates no
others and reports the rest under "not compared") and observes no page tables, frames or
kcmp classes (capabilities pagemap/pfn/kcmp false). Blocking ops (a wait for a live child, a
read of an empty pipe with writers) are answered "blocked"; after every op each blocked task
retries its op, and one that completes is live again (its result is no outcome of any step).

`--buggy` (or PYSIM_BUGGY=1) switches on a deliberate bug: fork gives the child *copies* of
the parent's open file descriptions instead of sharing them, so a child's read no longer
moves the parent's offset. forkspec catches it with a three-op case.

`--buggy-cloexec` (or PYSIM_BUGGY_CLOEXEC=1) switches on another, independent one: dup3
ignores O_CLOEXEC. With both, forkspec reports two causes, each with its own fingerprint.
"""

import json
import os
import sys

PROTOCOL = 1
PAGE = 4096
NOFILE = 1024
MAX_TASKS = 64
REGIONS = ["anon_private", "anon_shared", "file_private", "file_shared"]
OPS = [
    "fork", "exit", "wait", "mem_read", "mem_write",
    "open", "close", "dup", "dup2", "dup3", "read", "write", "lseek", "pipe2",
]
BUGGY = "--buggy" in sys.argv[1:] or os.environ.get("PYSIM_BUGGY") == "1"
BUGGY_CLOEXEC = (
    "--buggy-cloexec" in sys.argv[1:] or os.environ.get("PYSIM_BUGGY_CLOEXEC") == "1"
)


class OpError(Exception):
    """A request this simulator cannot carry out (answered with {"error": ...})."""


def data_file_byte(off):
    page, within = divmod(off, PAGE)
    return 0x80 | (page & 0x7F) if within == 0 else within % 251


def err(name):
    return {"err": name}


class Task:
    def __init__(self, parent):
        self.parent = parent          # label or None (the reaper)
        self.state = "live"           # "live", "blocked" or ("zombie", status)
        self.blocked_op = None        # the op a blocked task waits in
        self.reaped = False
        self.children = []
        self.fds = {}                 # fd -> [ofd id, cloexec]
        self.anon = {}                # anon_private page -> byte
        self.private_file = {}        # file_private page -> byte (pages written)


class Case:
    def __init__(self, pages):
        self.pages = pages
        self.tasks = [Task(None)]
        self.shared = {}              # anon_shared page -> byte
        data = bytearray(data_file_byte(i) for i in range(pages * PAGE))
        self.inodes = {0: {"kind": {"file": "data"}, "data": data}}
        self.dir = {"data": 0}
        self.ofds = {}
        self.next_id = 1

    # --- helpers -------------------------------------------------------------------------
    def new_id(self):
        self.next_id += 1
        return self.next_id

    def lowest_free(self, t, start=0):
        fds = self.tasks[t].fds
        for fd in range(max(start, 0), NOFILE):
            if fd not in fds:
                return fd
        return None

    def ofd_of(self, t, fd):
        slot = self.tasks[t].fds.get(fd)
        return None if slot is None else (slot[0], self.ofds[slot[0]])

    def is_pipe(self, ofd):
        return self.inodes[ofd["inode"]]["kind"] == "pipe"

    def pipe_end_open(self, ino, write):
        mode = "wr_only" if write else "rd_only"
        for task in self.tasks:
            if task.reaped or isinstance(task.state, tuple):
                continue
            for ofd_id, _ in task.fds.values():
                o = self.ofds[ofd_id]
                if o["inode"] == ino and (o["access"] in (mode, "rd_wr")):
                    return True
        return False

    def terminate(self, t, status):
        task = self.tasks[t]
        task.state = ("zombie", status)
        task.fds = {}
        task.anon = {}
        task.private_file = {}
        for c in task.children:
            self.tasks[c].parent = None
        task.children = []

    # --- ops -----------------------------------------------------------------------------
    def op(self, op):
        t = op.get("task")
        kind = op.get("kind")
        if kind not in OPS:
            raise OpError("unsupported op kind %r" % kind)
        if not isinstance(t, int) or t >= len(self.tasks) or t < 0:
            return err("ESRCH")
        task = self.tasks[t]
        if task.reaped or task.state != "live":
            return err("ESRCH")
        out = getattr(self, "op_" + kind)(t, op)
        if out == "blocked":
            task.state = "blocked"
            task.blocked_op = op
        elif isinstance(out, dict) and "killed" in out:
            self.terminate(t, {"signaled": out["killed"]})
        self.wake()
        return out

    def wake(self):
        """Retries the op of every blocked task until none completes: a child's exit wakes a
        wait, a write or the last writer's close wakes a pipe read."""
        progress = True
        while progress:
            progress = False
            for t, task in enumerate(self.tasks):
                if task.reaped or task.state != "blocked":
                    continue
                op = task.blocked_op
                if getattr(self, "op_" + op["kind"])(t, op) != "blocked":
                    task.state = "live"
                    progress = True

    def op_fork(self, t, _op):
        if len(self.tasks) >= MAX_TASKS:
            return err("EAGAIN")
        parent = self.tasks[t]
        child = Task(t)
        for fd, (ofd_id, cloexec) in parent.fds.items():
            if BUGGY:
                copy_id = self.new_id()
                self.ofds[copy_id] = dict(self.ofds[ofd_id])
                ofd_id = copy_id
            child.fds[fd] = [ofd_id, cloexec]
        child.anon = dict(parent.anon)
        child.private_file = dict(parent.private_file)
        self.tasks.append(child)
        label = len(self.tasks) - 1
        parent.children.append(label)
        return {"child": label}

    def op_exit(self, t, op):
        self.terminate(t, {"exited": op["code"] & 0xFF})
        return "exited"

    def op_wait(self, t, op):
        target = op["target"]
        options = op.get("options", {})
        want = None if target == "any" else target["task"]
        children = self.tasks[t].children
        # Every child here has exit signal SIGCHLD: __WCLONE alone (without __WALL) selects
        # only children with another exit signal, so none.
        if options.get("clone") and not options.get("all"):
            return err("ECHILD")
        if not any(want is None or c == want for c in children):
            return err("ECHILD")
        for c in children:
            st = self.tasks[c].state
            if (want is None or c == want) and isinstance(st, tuple):
                self.tasks[c].reaped = True
                children.remove(c)
                return {"reaped": {"task": c, "status": st[1]}}
        if options.get("nohang"):
            return {"ret": 0}
        return "blocked"

    def mem(self, t, op, value):
        task, region, page = self.tasks[t], op["region"], op["page"]
        if not 0 <= page < self.pages:
            raise OpError("page %d out of range" % page)
        data = self.inodes[0]["data"]
        if region == "anon_private":
            store = task.anon
        elif region == "anon_shared":
            store = self.shared
        elif region == "file_private" and (value is not None or page in task.private_file):
            store = task.private_file
        elif region in ("file_private", "file_shared"):
            if page * PAGE >= len(data):
                return {"killed": "SIGBUS"}
            if value is None:
                return {"data": [data[page * PAGE]]}
            data[page * PAGE] = value
            return {"ret": 0}
        else:
            raise OpError("unknown region %r" % region)
        if value is None:
            if region == "file_private":
                return {"data": [store[page]]}
            return {"data": [store.get(page, 0)]}
        store[page] = value
        return {"ret": 0}

    def op_mem_read(self, t, op):
        return self.mem(t, op, None)

    def op_mem_write(self, t, op):
        return self.mem(t, op, op["byte"])

    def op_open(self, t, op):
        flags = op.get("flags", {})
        fd = self.lowest_free(t)
        if fd is None:
            return err("EMFILE")
        name = op["file"]
        ino = self.dir.get(name)
        if ino is not None:
            if flags.get("creat") and flags.get("excl"):
                return err("EEXIST")
            if flags.get("trunc"):
                del self.inodes[ino]["data"][:]
        else:
            if not flags.get("creat"):
                return err("ENOENT")
            ino = self.new_id()
            self.inodes[ino] = {"kind": {"file": name}, "data": bytearray()}
            self.dir[name] = ino
        ofd = self.new_id()
        self.ofds[ofd] = {
            "inode": ino, "offset": 0, "access": flags.get("access", "rd_only"),
            "append": bool(flags.get("append")), "nonblock": bool(flags.get("nonblock")),
        }
        self.tasks[t].fds[fd] = [ofd, bool(flags.get("cloexec"))]
        return {"ret": fd}

    def op_close(self, t, op):
        if self.tasks[t].fds.pop(op["fd"], None) is None:
            return err("EBADF")
        return {"ret": 0}

    def op_dup(self, t, op):
        slot = self.tasks[t].fds.get(op["fd"])
        if slot is None:
            return err("EBADF")
        new = self.lowest_free(t)
        if new is None:
            return err("EMFILE")
        self.tasks[t].fds[new] = [slot[0], False]
        return {"ret": new}

    def op_dup2(self, t, op):
        old, new = op["old"], op["new"]
        if old == new:
            return {"ret": new} if old in self.tasks[t].fds else err("EBADF")
        return self.op_dup3(t, {"old": old, "new": new, "cloexec": False})

    def op_dup3(self, t, op):
        old, new = op["old"], op["new"]
        if old == new:
            return err("EINVAL")
        if not 0 <= new < NOFILE:
            return err("EBADF")
        slot = self.tasks[t].fds.get(old)
        if slot is None:
            return err("EBADF")
        self.tasks[t].fds[new] = [slot[0], bool(op.get("cloexec")) and not BUGGY_CLOEXEC]
        return {"ret": new}

    def op_read(self, t, op):
        found = self.ofd_of(t, op["fd"])
        if found is None:
            return err("EBADF")
        _, o = found
        if o["access"] not in ("rd_only", "rd_wr"):
            return err("EBADF")
        n = op["len"]
        inode = self.inodes[o["inode"]]
        if self.is_pipe(o):
            if n == 0:
                return {"data": []}
            if not inode["data"]:
                if not self.pipe_end_open(o["inode"], True):
                    return {"data": []}
                return err("EAGAIN") if o["nonblock"] else "blocked"
            out = inode["data"][:n]
            del inode["data"][:n]
            return {"data": list(out)}
        out = inode["data"][o["offset"]:o["offset"] + n]
        o["offset"] += len(out)
        return {"data": list(out)}

    def op_write(self, t, op):
        found = self.ofd_of(t, op["fd"])
        if found is None:
            return err("EBADF")
        _, o = found
        if o["access"] not in ("wr_only", "rd_wr"):
            return err("EBADF")
        data = bytes(op["data"])
        inode = self.inodes[o["inode"]]
        if not data:
            return {"ret": 0}
        if self.is_pipe(o):
            if not self.pipe_end_open(o["inode"], False):
                return {"killed": "SIGPIPE"}
            inode["data"] += data
            return {"ret": len(data)}
        buf = inode["data"]
        at = len(buf) if o["append"] else o["offset"]
        if at > len(buf):
            buf.extend(bytes(at - len(buf)))
        buf[at:at + len(data)] = data
        o["offset"] = at + len(data)
        return {"ret": len(data)}

    def op_lseek(self, t, op):
        found = self.ofd_of(t, op["fd"])
        if found is None:
            return err("EBADF")
        _, o = found
        if self.is_pipe(o):
            return err("ESPIPE")
        base = {"set": 0, "cur": o["offset"], "end": len(self.inodes[o["inode"]]["data"])}
        new = base[op["whence"]] + op["offset"]
        if new < 0:
            return err("EINVAL")
        o["offset"] = new
        return {"ret": new}

    def op_pipe2(self, t, op):
        r = self.lowest_free(t)
        w = None if r is None else self.lowest_free(t, r + 1)
        if w is None:
            return err("EMFILE")
        ino = self.new_id()
        self.inodes[ino] = {"kind": "pipe", "data": bytearray()}
        for fd, access in ((r, "rd_only"), (w, "wr_only")):
            ofd = self.new_id()
            self.ofds[ofd] = {"inode": ino, "offset": 0, "access": access,
                              "append": False, "nonblock": bool(op.get("nonblock"))}
            self.tasks[t].fds[fd] = [ofd, bool(op.get("cloexec"))]
        return {"pipe": [r, w]}

    # --- observation ---------------------------------------------------------------------
    def snapshot(self):
        tasks, ofds, inodes = [], {}, {}
        for label, task in enumerate(self.tasks):
            if task.reaped:
                continue
            zombie = isinstance(task.state, tuple)
            fds = []
            for fd in sorted(task.fds):
                ofd_id, cloexec = task.fds[fd]
                fds.append({"fd": fd, "cloexec": cloexec, "ofd": ofd_id})
                o = self.ofds[ofd_id]
                pipe = self.is_pipe(o)
                ofds[ofd_id] = {"id": ofd_id, "inode": o["inode"],
                                "offset": 0 if pipe else o["offset"], "access": o["access"],
                                "append": o["append"], "nonblock": o["nonblock"]}
                ino = self.inodes[o["inode"]]
                inodes[o["inode"]] = {"id": o["inode"], "kind": ino["kind"],
                                      "size": len(ino["data"])}
            page = {"mapped": True, "present": False, "exclusive": False,
                    "value": None, "frame": None}
            memory = [] if zombie else [
                {"region": r, "pages": [page] * self.pages} for r in REGIONS]
            tasks.append({
                "task": label,
                "parent": "reaper" if task.parent is None else {"task": task.parent},
                "state": {"zombie": task.state[1]} if zombie else task.state,
                "exit_signal": "SIGCHLD",
                "sharing": None,
                "fds": fds,
                "memory": memory,
            })
        return {"tasks": tasks, "ofds": list(ofds.values()), "inodes": list(inodes.values())}


def hello(req):
    if req.get("protocol") != PROTOCOL:
        raise OpError("unsupported protocol %r; pysim speaks %d" % (req.get("protocol"), PROTOCOL))
    return {"hello": {
        "protocol": PROTOCOL,
        "implementation": "pysim 0.1" + (" (buggy)" if BUGGY else "") + (" (buggy dup3)" if BUGGY_CLOEXEC else ""),
        "profile": {"uid": 1000, "cap_sys_admin": False, "userns": False, "kernel": [6, 18],
                    "page_size": PAGE, "case_fs": "tmpfs"},
        "capabilities": {"pagemap": False, "pfn": False, "kcmp": False,
                         "pipe_size": True, "exit_signal": True,
                         "locks": False},
        "ops": OPS,
    }}


def main():
    case = None
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            req = json.loads(line)
            cmd = req.get("cmd")
            if cmd == "hello":
                resp = hello(req)
            elif cmd == "setup":
                case = Case(req.get("config", {}).get("pages", 8))
                resp = "ready"
            elif cmd == "op":
                if case is None:
                    raise OpError("op before setup")
                outcome = case.op(req["op"])
                resp = {"done": {"outcome": outcome,
                                 "snapshot": case.snapshot() if req.get("snapshot") else None}}
            elif cmd == "snapshot":
                if case is None:
                    raise OpError("snapshot before setup")
                resp = {"snapshot": case.snapshot()}
            elif cmd == "end":
                case = None
                resp = "ended"
            else:
                raise OpError("unknown request %r" % cmd)
        except (OpError, KeyError, TypeError, ValueError) as e:
            resp = {"error": "%s: %s" % (type(e).__name__, e)}
        sys.stdout.write(json.dumps(resp) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
