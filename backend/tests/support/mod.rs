//! What several of the backend's test binaries share; each uses part of it.
#![allow(dead_code)]

pub mod cluster;
