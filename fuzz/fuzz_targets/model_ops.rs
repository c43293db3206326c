//! The model never panics on any op sequence: ops by unknown, exited or blocked tasks, on
//! closed or absurd fds, pages out of range, huge lengths and offsets.
#![no_main]

use forkspec_model::*;
use libfuzzer_sys::fuzz_target;

struct Bytes<'a>(&'a [u8], usize);

impl Bytes<'_> {
    fn u8(&mut self) -> u8 {
        let b = self.0.get(self.1).copied().unwrap_or(0);
        self.1 += 1;
        b
    }
    fn i32(&mut self) -> i32 {
        match self.u8() {
            0xff => i32::MAX,
            0xfe => i32::MIN,
            0xfd => 1024,
            b => i32::from(b % 12) - 1,
        }
    }
    fn i64(&mut self) -> i64 {
        match self.u8() {
            0xff => i64::MAX,
            0xfe => i64::MIN,
            0xfd => 1 << 44,
            b => i64::from(b) * 97 - 500,
        }
    }
    fn done(&self) -> bool {
        self.1 >= self.0.len()
    }
}

fn op(b: &mut Bytes) -> Op {
    let task = u32::from(b.u8() % 10);
    let region = Region::ALL[usize::from(b.u8() % 4)];
    let advice = [
        Advice::DontFork,
        Advice::DoFork,
        Advice::WipeOnFork,
        Advice::KeepOnFork,
        Advice::DontNeed,
    ][usize::from(b.u8() % 5)];
    let file = FileName::ALL[usize::from(b.u8() % 3)];
    let bits = b.u8();
    let flags = OpenFlags {
        access: [Access::RdOnly, Access::WrOnly, Access::RdWr][usize::from(bits % 3)],
        creat: bits & 4 != 0,
        excl: bits & 8 != 0,
        trunc: bits & 16 != 0,
        append: bits & 32 != 0,
        cloexec: bits & 64 != 0,
        nonblock: bits & 128 != 0,
    };
    let data: Vec<u8> = (0..b.u8() % 80).map(|i| i as u8).collect();
    let sig = Signal(b.i32() + (i32::from(b.u8()) % 66));
    let lock = FlockArg {
        ty: [LockType::Rd, LockType::Wr, LockType::Un][usize::from(bits % 3)],
        start: b.i64() % 16,
        len: b.i64() % 8,
        pid: i32::from(bits & 1),
    };
    let kind = match b.u8() % 40 {
        0 => OpKind::Fork,
        1 => OpKind::Exit {
            code: b.i32(),
            thread: bits & 1 != 0,
        },
        2 => OpKind::Wait {
            target: if bits & 1 == 0 {
                WaitTarget::Any
            } else {
                WaitTarget::Task(u32::from(b.u8() % 12))
            },
            options: WaitOptions {
                nohang: bits & 2 != 0,
                clone: bits & 4 != 0,
                all: bits & 8 != 0,
                ..Default::default()
            },
        },
        20 => OpKind::Vfork,
        21 => OpKind::Exec,
        22 | 23 => {
            // Any 34 bits of flags: every named flag and the unknown ones between them.
            let f = u64::from_le_bytes([b.u8(), b.u8(), b.u8(), b.u8(), b.u8() & 3, 0, 0, 0]);
            OpKind::Clone(CloneOp {
                entry: if bits & 1 == 0 {
                    CloneEntry::Clone
                } else {
                    CloneEntry::Clone3
                },
                flags: CloneFlags(f),
                exit_signal: [17, 0, 23, 65, -1][usize::from(bits % 5)],
                args: Clone3Args {
                    size: [64, 80, 88, 96, 4097][usize::from(b.u8() % 5)],
                    tail_nonzero: bits & 2 != 0,
                    stack: bits & 4 != 0,
                    stack_size: bits & 8 != 0,
                    set_tid: [SetTid::None, SetTid::Pid1, SetTid::TooMany][usize::from(bits % 3)],
                    cgroup_big: bits & 16 != 0,
                },
            })
        }
        24 => OpKind::Kill {
            target: u32::from(b.u8() % 12),
            sig,
        },
        25 => OpKind::Sigaction {
            sig,
            action: [SigAction::Default, SigAction::Ignore, SigAction::Handler]
                [usize::from(bits % 3)],
            flags: Default::default(),
        },
        26 => OpKind::Sigprocmask {
            how: [MaskHow::Block, MaskHow::Unblock, MaskHow::SetMask][usize::from(bits % 3)],
            set: vec![sig, Signal(i32::from(b.u8() % 70))],
        },
        27 => OpKind::Chdir {
            dir: CaseDir::ALL[usize::from(b.u8()) % CaseDir::ALL.len()],
        },
        28 => OpKind::Umask {
            mask: u32::from(b.u8()) * 7,
        },
        29 => OpKind::Sethostname {
            name: [HostName::Alpha, HostName::Beta][usize::from(bits % 2)],
        },
        30 => OpKind::Uname,
        31 => OpKind::Flock {
            fd: b.i32(),
            op: [FlockOp::Sh, FlockOp::Ex, FlockOp::Un][usize::from(bits % 3)],
            nonblock: bits & 8 != 0,
        },
        32 | 33 => OpKind::Fcntl {
            fd: b.i32(),
            cmd: match bits % 4 {
                0 => FcntlCmd::SetLk { lock },
                1 => FcntlCmd::GetLk { lock },
                2 => FcntlCmd::OfdSetLk { lock },
                _ => FcntlCmd::OfdGetLk { lock },
            },
        },
        3 => OpKind::MemRead {
            region,
            page: u32::from(b.u8()),
        },
        4 => OpKind::MemWrite {
            region,
            page: u32::from(b.u8() % 20),
            byte: b.u8(),
        },
        5 => OpKind::Madvise {
            region,
            first: u32::from(b.u8()) * 1000,
            count: u32::from(b.u8()).wrapping_mul(0x0100_0001),
            advice,
        },
        6 => OpKind::Open { file, flags },
        7 => OpKind::Close { fd: b.i32() },
        8 => OpKind::Dup { fd: b.i32() },
        9 => OpKind::Dup2 {
            old: b.i32(),
            new: b.i32(),
        },
        10 => OpKind::Dup3 {
            old: b.i32(),
            new: b.i32(),
            cloexec: bits & 2 != 0,
        },
        11 => OpKind::Read {
            fd: b.i32(),
            len: u32::from(b.u8()) * 1000,
        },
        12 => OpKind::Write { fd: b.i32(), data },
        13 => OpKind::Pread {
            fd: b.i32(),
            len: u32::from(b.u8()),
            offset: b.i64(),
        },
        14 => OpKind::Pwrite {
            fd: b.i32(),
            data,
            offset: b.i64(),
        },
        15 => OpKind::Lseek {
            fd: b.i32(),
            offset: b.i64(),
            whence: [Whence::Set, Whence::Cur, Whence::End][usize::from(bits % 3)],
        },
        16 => OpKind::Fcntl {
            fd: b.i32(),
            cmd: match bits % 6 {
                0 => FcntlCmd::GetFd,
                1 => FcntlCmd::SetFd { cloexec: true },
                2 => FcntlCmd::GetFl,
                3 => FcntlCmd::SetFl {
                    append: true,
                    nonblock: bits & 8 != 0,
                },
                4 => FcntlCmd::DupFd { min: b.i32() },
                _ => FcntlCmd::DupFdCloexec { min: b.i32() },
            },
        },
        17 => OpKind::Pipe2 {
            cloexec: bits & 2 != 0,
            nonblock: bits & 4 != 0,
        },
        _ => OpKind::Ftruncate {
            fd: b.i32(),
            len: b.i64(),
        },
    };
    Op { task, kind }
}

fuzz_target!(|data: &[u8]| {
    let mut b = Bytes(data, 0);
    let pages = u32::from(b.u8() % 20) + 1;
    let fs = if b.u8() & 1 == 0 {
        CaseFs::Tmpfs
    } else {
        CaseFs::Ext4
    };
    let profile = Profile {
        case_fs: fs,
        ..Profile::default()
    };
    let mut m = Model::new(CaseConfig { pages }, &profile);
    let mut n = 0;
    while !b.done() && n < 200 {
        let o = op(&mut b);
        let step = m.step(&o, None);
        assert!(step.allowed.contains(&step.taken));
        if n % 16 == 0 {
            let _ = m.snapshot();
        }
        n += 1;
    }
    let _ = m.snapshot();
});
