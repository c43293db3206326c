//! Backends: anything that runs cases and reports outcomes and snapshots.
