use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = meshctl::cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("meshctl: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let code = runtime.block_on(meshctl::app::main(cli));
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}
