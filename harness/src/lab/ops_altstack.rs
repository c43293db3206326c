//! Op → agent command for `sigaltstack`, and the reply → its outcome.
//!
//! The agents run no alternate stack of their own: `t0` and the zygote disable the one
//! Rust's start-up installs ([`super::agent::default_state`]) and a re-executed agent starts
//! before Rust's start-up, so the setting a case task reads is its own. Stack `i` of an op
//! is the base of stack `i` of the agent stack pool ([`super::layout::stacks`]): memory the
//! lab owns at the same address in every task and across exec, so the index the kernel
//! reports back maps to the same stack in every task. The kernel never writes there: it
//! uses the alternate stack only to deliver to a handler with `SA_ONSTACK`, and the lab's
//! handler ([`super::handler`]) is installed without it. A size beyond the stack is given
//! as such (the kernel checks only its lower bound).

use super::agent::STACK_SIZE;
use super::channel::{Cmd, Reply, FIX_CMD_DATA, FIX_REPLY_DATA};
use super::ops::Expect;
use forkspec_model::altstack::ALT_STACKS;
use forkspec_model::{AltStackReport, AltStackSet, Outcome};

/// `sizeof(stack_t)` on x86_64: `ss_sp` at 0, `ss_flags` (int) at 8, `ss_size` at 16.
const STACK_T: usize = 24;

/// The address stack `index` names in every task.
fn address(index: u8) -> u64 {
    super::layout::stacks() + u64::from(index) * STACK_SIZE
}

/// The command of `sigaltstack(set or NULL, &old)`: `old` is written to the reply's data.
/// A stack index the lab has no stack for is refused.
pub fn encode(set: Option<AltStackSet>) -> Result<(Cmd, Expect), String> {
    let mut c = Cmd {
        nr: libc::SYS_sigaltstack as u64,
        fix: FIX_REPLY_DATA << 1,
        ..Cmd::ZERO
    };
    if let Some(ss) = set {
        if ss.stack >= ALT_STACKS {
            return Err(format!(
                "sigaltstack: stack {} (the lab has stacks 0 to {})",
                ss.stack,
                ALT_STACKS - 1
            ));
        }
        c.data[0..8].copy_from_slice(&address(ss.stack).to_ne_bytes());
        c.data[8..12].copy_from_slice(&ss.flags.to_ne_bytes());
        c.data[16..24].copy_from_slice(&u64::from(ss.size).to_ne_bytes());
        c.len = STACK_T as u32;
        c.fix |= FIX_CMD_DATA;
    }
    Ok((c, Expect::AltStack))
}

/// The outcome of a successful reply: the `stack_t` the kernel wrote back, its `ss_sp` as
/// the index of the stack it is the base of (255 for any other address).
pub fn report(r: &Reply) -> Outcome {
    let word = |o: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&r.data[o..o + 8]);
        u64::from_ne_bytes(b)
    };
    let sp = word(0);
    let stack = (sp != 0).then(|| {
        (0..ALT_STACKS)
            .find(|&i| address(i) == sp)
            .unwrap_or(u8::MAX)
    });
    Outcome::AltStack(AltStackReport {
        stack,
        size: word(16),
        flags: u32::from_ne_bytes([r.data[8], r.data[9], r.data[10], r.data[11]]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use forkspec_model::altstack::{SS_AUTODISARM, SS_DISABLE};

    #[test]
    fn a_set_passes_its_stack_t_and_a_reply_maps_the_stack_back() {
        let (c, e) = encode(Some(AltStackSet {
            stack: 2,
            size: 4096,
            flags: SS_AUTODISARM,
        }))
        .expect("stack 2 is the lab's");
        assert!(encode(Some(AltStackSet {
            stack: ALT_STACKS,
            ..AltStackSet::default()
        }))
        .is_err());
        assert_eq!(e, Expect::AltStack);
        assert_eq!(c.fix, FIX_CMD_DATA | (FIX_REPLY_DATA << 1));
        let mut r = Reply::ZERO;
        r.data[..STACK_T].copy_from_slice(&c.data[..STACK_T]);
        assert_eq!(
            report(&r),
            Outcome::AltStack(AltStackReport {
                stack: Some(2),
                size: 4096,
                flags: SS_AUTODISARM,
            })
        );
        let (q, _) = encode(None).expect("a query");
        assert_eq!(q.fix, FIX_REPLY_DATA << 1);
        let mut r = Reply::ZERO;
        r.data[8..12].copy_from_slice(&SS_DISABLE.to_ne_bytes());
        assert_eq!(
            report(&r),
            Outcome::AltStack(AltStackReport {
                stack: None,
                size: 0,
                flags: SS_DISABLE,
            })
        );
        r.data[0..8].copy_from_slice(&(address(0) + 8).to_ne_bytes());
        match report(&r) {
            Outcome::AltStack(a) => assert_eq!(a.stack, Some(u8::MAX)),
            other => panic!("{other:?}"),
        }
    }
}
