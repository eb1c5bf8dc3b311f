//! schedlab: a terminal scheduling visualizer and load-balancing lab.
//!
//! A workload file ([`workload`]) describes groups of tasks doing real work ([`kernels`]), or a
//! task graph that [`import`] reads from another tool's file; it is compiled into a task table
//! ([`plan`]) and run on real OS threads by the executor ([`exec`]) under one of the pluggable
//! policies of the `schedlab-policies` crate. Workers record what they did ([`record`]); the run
//! report ([`report`]), Chrome traces ([`trace`]) and the live view are computed from that;
//! [`output`] checks and writes the files. The simulator
//! ([`sim`]) runs the same plans in virtual time at the costs of a [`costs`] model, which
//! [`calibrate`] measures on the machine at hand. [`cli`] is the command line; `manual` holds
//! the reference pages it prints.
// One audited exception, `record::advise_huge_pages`: a madvise call, which no safe API offers.
#![deny(unsafe_code)]

pub mod board;
pub mod calibrate;
pub mod cli;
pub mod clock;
pub mod compare;
pub mod costs;
pub mod diagnose;
pub mod escape;
pub mod exec;
pub mod export;
pub mod fmt;
pub mod import;
pub mod kernels;
mod manual;
pub mod output;
pub mod plan;
pub mod record;
pub mod recording;
pub mod report;
pub mod session;
pub mod sim;
pub mod svg;
pub mod sweep;
pub mod terminal;
pub mod times;
pub mod tour;
pub mod trace;
pub mod tui;
pub mod workload;
