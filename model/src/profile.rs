//! The environment profile: facts about the environment the model is parameterized by.
//!
//! A profile records environment facts only (who we are, what the kernel version offers). It
//! never records the behaviour under test: a model that asked the kernel what to predict would
//! check nothing (DESIGN §5).

use serde::{Deserialize, Serialize};

/// Environment facts detected once at start-up by a backend and reported in its hello.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Hash)]
#[serde(default)]
pub struct Profile {
    /// Effective uid of the lab.
    pub uid: u32,
    /// The lab holds CAP_SYS_ADMIN in the initial user namespace.
    pub cap_sys_admin: bool,
    /// Unprivileged user namespaces can be created.
    pub userns: bool,
    /// Kernel release as `(major, minor)`.
    pub kernel: (u32, u32),
    /// The upstream stable sublevel of the kernel (the `192` of 6.1.192), 0 when unknown.
    /// Only rules that changed by a stable backport read it (see docs/kernels.md).
    pub kernel_sublevel: u32,
    /// Page size in bytes.
    pub page_size: u64,
    /// Filesystem of the case directories.
    pub case_fs: CaseFs,
    /// The node name of the lab's own UTS namespace (what `uname` reports before any
    /// `sethostname` in a namespace of the case).
    pub hostname: String,
    /// The lab's tasks start with `no_new_privs` set (the lab runs under a runner that set it,
    /// such as `forkspec restrict`).
    #[serde(skip_serializing_if = "is_false")]
    pub no_new_privs: bool,
    /// The lab's tasks start under a seccomp filter of their runner (`PR_GET_SECCOMP` is 2).
    #[serde(skip_serializing_if = "is_false")]
    pub seccomp_filter: bool,
    /// The lab could not advise `MADV_NOHUGEPAGE` on the four regions (a kernel without
    /// transparent huge pages, or the `thp` facility denied), so their VMAs lack
    /// `VM_NOHUGEPAGE`, as the mappings the ops make do: an `mremap` can then merge the two.
    #[serde(skip_serializing_if = "is_false")]
    pub regions_without_thp_advice: bool,
    /// The lab holds `CAP_IPC_LOCK` in the initial user namespace, so `RLIMIT_MEMLOCK` does
    /// not bind its tasks (it still binds a task in a user namespace the case made:
    /// `capable()` asks the initial one).
    #[serde(skip_serializing_if = "is_true")]
    pub cap_ipc_lock: bool,
    /// `RLIMIT_MEMLOCK` of the lab's tasks in pages; absent when infinite. It is inherited
    /// from the lab's environment, so it is probed, never assumed (its default is 8 MiB since
    /// Linux 5.16, 64 KiB before).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mlock_limit_pages: Option<u64>,
    /// The lab holds CAP_SYS_NICE in the initial user namespace; unknown (a backend that
    /// does not say) means as [`Profile::cap_sys_admin`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cap_sys_nice: Option<bool>,
    /// The lab holds CAP_SYS_RESOURCE in the initial user namespace; unknown means as
    /// [`Profile::cap_sys_admin`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cap_sys_resource: Option<bool>,
    /// The nice value the lab's tasks start with (the lab's own: a harness run under
    /// `nice -n 5` gives its cases nice 5, which an unprivileged task cannot undo).
    #[serde(skip_serializing_if = "is_zero_i32")]
    pub nice: i32,
    /// The scheduling policy the lab's tasks start with (`sched_getscheduler` of the lab).
    #[serde(skip_serializing_if = "is_zero_u32")]
    pub sched_policy: u32,
    /// The persona the lab's tasks start with (`personality(0xffffffff)` of the lab).
    #[serde(skip_serializing_if = "is_zero_u32")]
    pub personality: u32,
    /// How many CPUs the lab's tasks may be given (`sched_setaffinity` keeps only these);
    /// 0: not given, one.
    #[serde(skip_serializing_if = "is_zero_u32")]
    pub cpus: u32,
    /// The CPUs the lab's tasks start on, as a mask over those (bit 0: the lab's own CPU);
    /// 0: not given, all of them.
    #[serde(skip_serializing_if = "is_zero_u32")]
    pub affinity: u32,
    /// The limits of [`crate::sched::RLIMITS`] the lab's tasks start with; a resource left
    /// out starts without limits.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rlimits: Vec<crate::sched::RlimitStart>,
}

fn is_zero_i32(v: &i32) -> bool {
    *v == 0
}

fn is_zero_u32(v: &u32) -> bool {
    *v == 0
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_true(b: &bool) -> bool {
    *b
}

/// The filesystem of the case directory, which decides how the page cache of `data` is
/// made and how large a file may grow. The lab puts case directories on `/dev/shm` when it
/// can (`harness/src/backend.rs: case_dir_base`), else in `$TMPDIR` or `/tmp`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[serde(rename_all = "snake_case")]
pub enum CaseFs {
    /// tmpfs (`huge=never`): order-0 folios, shmem fault rules, `MAX_LFS_FILESIZE`.
    #[default]
    Tmpfs,
    /// ext4 with 4 KiB blocks (and, as an approximation, any other disk filesystem): large
    /// folios from buffered writes (Linux 6.16+), the i_size rules of file fault-around, a
    /// 16 TiB file size limit.
    Ext4,
}

impl Default for Profile {
    fn default() -> Self {
        Profile {
            uid: 0,
            cap_sys_admin: true,
            userns: true,
            kernel: (6, 18),
            kernel_sublevel: 0,
            page_size: crate::op::PAGE_SIZE,
            case_fs: CaseFs::Tmpfs,
            hostname: String::new(),
            no_new_privs: false,
            seccomp_filter: false,
            regions_without_thp_advice: false,
            cap_ipc_lock: true,
            mlock_limit_pages: None,
            cap_sys_nice: None,
            cap_sys_resource: None,
            nice: 0,
            sched_policy: 0,
            personality: 0,
            cpus: 0,
            affinity: 0,
            rlimits: Vec::new(),
        }
    }
}

impl Profile {
    /// Whether the kernel is release `major.minor` or later (the rules of a change merged
    /// in that release apply).
    pub fn kernel_at_least(&self, major: u32, minor: u32) -> bool {
        self.kernel >= (major, minor)
    }

    /// Whether the kernel is `major.minor.sublevel` or a later release of any series.
    pub fn kernel_at_least_sublevel(&self, major: u32, minor: u32, sublevel: u32) -> bool {
        (self.kernel.0, self.kernel.1, self.kernel_sublevel) >= (major, minor, sublevel)
    }

    /// A short human-readable name, e.g. `root, kernel 6.18`.
    pub fn describe(&self) -> String {
        let who = if self.uid == 0 {
            "root".to_string()
        } else {
            format!("uid {}", self.uid)
        };
        format!(
            "{who}{}, kernel {}.{}{}, cases on {}",
            if self.cap_sys_admin {
                " (CAP_SYS_ADMIN)"
            } else {
                ""
            },
            self.kernel.0,
            self.kernel.1,
            if self.kernel_sublevel > 0 {
                format!(".{}", self.kernel_sublevel)
            } else {
                String::new()
            },
            match self.case_fs {
                CaseFs::Tmpfs => "tmpfs",
                CaseFs::Ext4 => "a disk filesystem (ext4 rules)",
            }
        )
    }
}

/// What a backend can observe. The harness compares only what both sides report and lists the
/// rest as "not compared".
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(default)]
pub struct Capabilities {
    /// Page-table state through /proc/PID/pagemap: present and exclusive bits, and with them
    /// the values of present pages.
    pub pagemap: bool,
    /// Physical frame numbers in pagemap (CAP_SYS_ADMIN): frame classes and the zero page.
    pub pfn: bool,
    /// kcmp(2): sharing classes and open-file-description identity.
    pub kcmp: bool,
    /// Bytes buffered in a pipe.
    pub pipe_size: bool,
    /// The exit signal of a task (stat field 38).
    pub exit_signal: bool,
    /// The file locks held on the case's inodes (/proc/locks).
    pub locks: bool,
    /// Signal masks, dispositions and pending sets (the `Sig*`/`ShdPnd` lines of
    /// /proc/PID/status).
    pub signals: bool,
    /// Working directory (/proc/PID/cwd, which needs ptrace read access) and umask.
    pub fs_context: bool,
    /// Namespace identities (/proc/PID/ns/*, which need ptrace read access).
    pub namespaces: bool,
    /// The exit status of a task that died while running an op and was reaped before the
    /// backend saw its zombie (auto-reaped: its parent ignores SIGCHLD). The Linux lab gets
    /// it from `PIDFD_INFO_EXIT` (Linux 6.15); without it such an op's outcome is
    /// [`crate::Outcome::Died`], which stands for any death the model allows.
    pub reaped_status: bool,
    /// Who adopts orphans: the lab is a child subreaper (`PR_SET_CHILD_SUBREAPER`). Without
    /// it orphans go to a reaper outside the lab, which reaps them at once, so tasks whose
    /// parent is the reaper (except `t0`) are not compared.
    pub orphans: bool,
}

impl Default for Capabilities {
    fn default() -> Self {
        Capabilities::ALL
    }
}

impl Capabilities {
    /// Everything observable.
    pub const ALL: Capabilities = Capabilities {
        pagemap: true,
        pfn: true,
        kcmp: true,
        pipe_size: true,
        exit_signal: true,
        locks: true,
        signals: true,
        fs_context: true,
        namespaces: true,
        reaped_status: true,
        orphans: true,
    };

    /// What both `self` and `other` can observe.
    pub fn intersect(self, other: Capabilities) -> Capabilities {
        Capabilities {
            pagemap: self.pagemap && other.pagemap,
            pfn: self.pfn && other.pfn,
            kcmp: self.kcmp && other.kcmp,
            pipe_size: self.pipe_size && other.pipe_size,
            exit_signal: self.exit_signal && other.exit_signal,
            locks: self.locks && other.locks,
            signals: self.signals && other.signals,
            fs_context: self.fs_context && other.fs_context,
            namespaces: self.namespaces && other.namespaces,
            reaped_status: self.reaped_status && other.reaped_status,
            orphans: self.orphans && other.orphans,
        }
    }

    /// Observation kinds not available, with the reason, for reports.
    pub fn missing(self) -> Vec<(&'static str, &'static str)> {
        let mut v = Vec::new();
        if !self.pagemap {
            v.push((
                "pagemap",
                "page presence, exclusivity and page values (/proc/PID/pagemap unreadable)",
            ));
        }
        if !self.pfn {
            v.push((
                "pfn",
                "physical frame classes and the zero page (PFNs need CAP_SYS_ADMIN)",
            ));
        }
        if !self.kcmp {
            v.push((
                "kcmp",
                "sharing classes and open-file-description identity (kcmp unavailable)",
            ));
        }
        if !self.pipe_size {
            v.push(("pipe_size", "bytes buffered in pipes"));
        }
        if !self.exit_signal {
            v.push(("exit_signal", "exit signals"));
        }
        if !self.locks {
            v.push((
                "locks",
                "file locks held (/proc/locks unreadable, or without kcmp in a pid namespace \
                 where /proc/locks hides a lock whose owner is gone)",
            ));
        }
        if !self.signals {
            v.push(("signals", "signal masks, dispositions and pending sets"));
        }
        if !self.fs_context {
            v.push(("fs_context", "working directories and umasks"));
        }
        if !self.namespaces {
            v.push(("namespaces", "namespace classes (/proc/PID/ns unreadable)"));
        }
        if !self.reaped_status {
            v.push((
                "reaped_status",
                "how a task died when it was reaped before the lab saw its zombie (auto-reaped: \
                 no PIDFD_INFO_EXIT, Linux 6.15); its op reads \"died\"",
            ));
        }
        if !self.orphans {
            v.push((
                "orphans",
                "orphaned tasks (no PR_SET_CHILD_SUBREAPER: a reaper outside the lab adopts \
                 and reaps them)",
            ));
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each capability one side lacks is lacking in the intersection, whichever side it is.
    #[test]
    fn intersect_keeps_only_what_both_sides_observe() {
        let all = serde_json::to_value(Capabilities::ALL).expect("capabilities serialize");
        let names: Vec<String> = all
            .as_object()
            .expect("an object")
            .keys()
            .cloned()
            .collect();
        assert!(names.len() >= 10, "{names:?}");
        for name in names {
            let mut v = all.clone();
            v[&name] = serde_json::Value::Bool(false);
            let lacking: Capabilities = serde_json::from_value(v).expect("capabilities");
            assert_ne!(lacking, Capabilities::ALL, "{name}");
            assert_eq!(Capabilities::ALL.intersect(lacking), lacking, "{name}");
            assert_eq!(lacking.intersect(Capabilities::ALL), lacking, "{name}");
        }
    }

    /// The profile line of every report names the user, the kernel and the case file system.
    #[test]
    fn describe_names_the_user_kernel_and_file_system() {
        let root = Profile::default();
        assert_eq!(
            root.describe(),
            "root (CAP_SYS_ADMIN), kernel 6.18, cases on tmpfs"
        );
        let user = Profile {
            uid: 65534,
            cap_sys_admin: false,
            kernel: (6, 1),
            kernel_sublevel: 57,
            ..Profile::default()
        };
        assert_eq!(user.describe(), "uid 65534, kernel 6.1.57, cases on tmpfs");
    }

    #[test]
    fn each_missing_capability_has_its_not_compared_entry() {
        assert!(Capabilities::ALL.missing().is_empty());
        let none = Capabilities {
            pagemap: false,
            pfn: false,
            kcmp: false,
            pipe_size: false,
            exit_signal: false,
            locks: false,
            signals: false,
            fs_context: false,
            namespaces: false,
            reaped_status: false,
            orphans: false,
        };
        let names: Vec<&str> = none.missing().iter().map(|e| e.0).collect();
        assert_eq!(
            names,
            [
                "pagemap",
                "pfn",
                "kcmp",
                "pipe_size",
                "exit_signal",
                "locks",
                "signals",
                "fs_context",
                "namespaces",
                "reaped_status",
                "orphans"
            ]
        );
        let no_ns = Capabilities {
            namespaces: false,
            ..Capabilities::ALL
        };
        let entries = no_ns.missing();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].0, "namespaces");
        assert!(entries[0].1.contains("namespace classes"));
        assert_eq!(no_ns.intersect(Capabilities::ALL), no_ns);
        assert_eq!(Capabilities::ALL.intersect(no_ns), no_ns);
    }

    /// A hello from before `reaped_status` and `orphans` existed means both are observable.
    #[test]
    fn capabilities_added_later_default_to_observable() {
        let c: Capabilities = serde_json::from_str(r#"{"pagemap": false}"#).unwrap();
        assert!(!c.pagemap);
        assert!(c.reaped_status && c.orphans);
    }

    #[test]
    fn missing_names_the_lost_exit_status_and_the_orphans() {
        let c = Capabilities {
            reaped_status: false,
            orphans: false,
            ..Capabilities::ALL
        };
        let names: Vec<&str> = c.missing().iter().map(|m| m.0).collect();
        assert_eq!(names, vec!["reaped_status", "orphans"]);
        assert!(Capabilities::ALL.missing().is_empty());
        assert!(!Capabilities::ALL.intersect(c).reaped_status);
    }

    /// Case files and hellos carry a profile: the fields added since protocol 1 are left
    /// out at their defaults (older readers and every pinned case file see the same text) and
    /// sent when they are not.
    #[test]
    fn later_fields_are_written_only_when_not_at_their_default() {
        let keys = |p: &Profile| -> Vec<String> {
            let v = serde_json::to_value(p).expect("a profile serializes");
            v.as_object().expect("an object").keys().cloned().collect()
        };
        let core = [
            "cap_sys_admin",
            "case_fs",
            "hostname",
            "kernel",
            "kernel_sublevel",
            "page_size",
            "uid",
            "userns",
        ];
        assert_eq!(keys(&Profile::default()), core);
        let set = Profile {
            no_new_privs: true,
            seccomp_filter: true,
            regions_without_thp_advice: true,
            cap_ipc_lock: false,
            mlock_limit_pages: Some(16),
            cap_sys_nice: Some(false),
            cap_sys_resource: Some(true),
            nice: 5,
            sched_policy: 3,
            personality: 0x40000,
            cpus: 2,
            affinity: 1,
            rlimits: vec![crate::sched::RlimitStart {
                resource: 6,
                limit: crate::sched::Rlim { cur: 3, max: 3 },
            }],
            ..Profile::default()
        };
        let all = keys(&set);
        assert_eq!(all.len(), core.len() + 13, "{all:?}");
        let back: Profile =
            serde_json::from_value(serde_json::to_value(&set).unwrap()).expect("parses");
        assert_eq!(back, set);
        let negative = Profile {
            nice: -3,
            ..Profile::default()
        };
        assert!(keys(&negative).contains(&"nice".to_string()));
    }
}
