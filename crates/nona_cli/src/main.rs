//! The `nona` command.

fn main() {}
