//! The reference model. (Stub: being implemented.)

use crate::obs::{Outcome, Snapshot};
use crate::op::{CaseConfig, Op};
use crate::profile::Profile;

/// What the model says about one op.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// Every outcome Linux may produce (usually exactly one).
    pub allowed: Vec<Outcome>,
    /// The outcome the model's state followed: the observed one when it is allowed, else the
    /// first allowed.
    pub taken: Outcome,
}

/// The executable reference model of one case.
#[derive(Clone, Debug)]
pub struct Model {
    config: CaseConfig,
}

impl Model {
    /// A fresh case: `t0` alive with the four regions mapped and nothing touched, fds empty.
    pub fn new(config: CaseConfig, _profile: &Profile) -> Model {
        Model { config }
    }

    /// The configuration.
    pub fn config(&self) -> CaseConfig {
        self.config
    }

    /// Predicts `op` and advances the state.
    pub fn step(&mut self, _op: &Op, _observed: Option<&Outcome>) -> Step {
        Step {
            allowed: vec![Outcome::Blocked],
            taken: Outcome::Blocked,
        }
    }

    /// The canonical snapshot of the current state.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot::default()
    }
}
