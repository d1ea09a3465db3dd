use std::process::ExitCode;

fn main() -> ExitCode {
    install_panic_hook();
    let cli = meshctl::app::parse_args();
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

/// meshctl must never panic; should it ever, say so briefly and exit 1 (not Rust's 101), with
/// the location for a bug report. `RUST_BACKTRACE=1` adds the backtrace.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        eprintln!(
            "meshctl hit a bug{location}: {message}\n\
             Please report it with the command you ran. If a run was in progress, \
             `meshctl status` shows what exists and `meshctl cleanup` removes it."
        );
        if std::env::var_os("RUST_BACKTRACE").is_some_and(|v| v != "0") {
            eprintln!("{}", std::backtrace::Backtrace::force_capture());
        }
        std::process::exit(1);
    }));
}
