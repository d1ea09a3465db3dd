//! `meshctl init`: write a commented meshctl.yaml.

use std::path::Path;

use crate::cli::InitArgs;
use crate::error::Error;
use crate::ui::Ui;

pub fn run(args: &InitArgs, path: &Path, ui: &Ui) -> Result<(), Error> {
    let _ = (args, path, ui);
    Err(Error::usage(
        "init is being written",
        "write meshctl.yaml by hand (see docs/config.md)",
    ))
}
