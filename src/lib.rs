//! meshctl: provision, verify and tear down a monitored Istio service mesh on AWS.
//!
//! The binary is a thin layer over this library: [`cli`] parses, [`app`] runs a command,
//! [`engine`] plans, applies and rolls back [`steps`].

pub mod app;
pub mod aws;
pub mod cli;
pub mod config;
pub mod doctor;
pub mod engine;
pub mod error;
pub mod grafana;
pub mod helm;
pub mod http;
pub mod init;
pub mod kube;
pub mod kubeconfig;
pub mod migrate;
pub mod pagerduty;
pub mod steps;
pub mod templates;
pub mod traffic;
pub mod ui;
pub mod verify;

pub use error::Error;
