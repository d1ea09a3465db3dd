//! Progress, prompts and output. On a terminal each running step gets a spinner line with
//! its elapsed time and what it waits on; otherwise (or with `--output json`) progress is
//! plain timestamped lines, on stderr when stdout carries JSON.

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use crate::cli::OutputFormat;
use crate::error::Error;

#[derive(Clone)]
pub struct Ui {
    inner: Arc<UiInner>,
}

struct UiInner {
    format: OutputFormat,
    /// Spinners are drawn (stderr is a terminal and output is text).
    fancy: bool,
    /// Questions can be asked (stdin and stderr are terminals).
    interactive: bool,
    assume_yes: bool,
    color: bool,
    multi: MultiProgress,
}

impl Ui {
    pub fn new(format: OutputFormat, assume_yes: bool, no_color: bool) -> Ui {
        let stderr_tty = std::io::stderr().is_terminal();
        let stdout_tty = std::io::stdout().is_terminal();
        let interactive = stderr_tty && std::io::stdin().is_terminal();
        let fancy = format == OutputFormat::Text && stderr_tty && stdout_tty;
        let color =
            !no_color && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && stdout_tty;
        let multi = if fancy {
            MultiProgress::with_draw_target(ProgressDrawTarget::stderr())
        } else {
            MultiProgress::with_draw_target(ProgressDrawTarget::hidden())
        };
        Ui {
            inner: Arc::new(UiInner {
                format,
                fancy,
                interactive,
                assume_yes,
                color,
                multi,
            }),
        }
    }

    /// A UI that draws nothing and answers no questions (tests and library use).
    pub fn quiet() -> Ui {
        Ui {
            inner: Arc::new(UiInner {
                format: OutputFormat::Text,
                fancy: false,
                interactive: false,
                assume_yes: true,
                color: false,
                multi: MultiProgress::with_draw_target(ProgressDrawTarget::hidden()),
            }),
        }
    }

    pub fn format(&self) -> OutputFormat {
        self.inner.format
    }

    pub fn color(&self) -> bool {
        self.inner.color
    }

    pub fn is_interactive(&self) -> bool {
        self.inner.interactive
    }

    /// A progress line for one step.
    pub fn step(&self, name: &str) -> StepProgress {
        let bar = if self.inner.fancy {
            let bar = self.inner.multi.add(ProgressBar::new_spinner());
            // The template is constant; should it ever be rejected, keep the default style.
            if let Ok(style) =
                ProgressStyle::with_template("{spinner} {prefix:<11} [{elapsed:>4}] {wide_msg}")
            {
                bar.set_style(style);
            }
            bar.set_prefix(name.to_string());
            bar.enable_steady_tick(Duration::from_millis(120));
            Some(bar)
        } else {
            None
        };
        StepProgress {
            inner: Arc::new(ProgressInner {
                name: name.to_string(),
                bar,
                started: Instant::now(),
                last: Mutex::new(String::new()),
                silent: false,
                to_stderr: self.inner.format == OutputFormat::Json,
            }),
        }
    }

    /// A line of information: stdout for text output, stderr when stdout carries JSON.
    pub fn info(&self, line: impl AsRef<str>) {
        let line = line.as_ref();
        self.inner.multi.suspend(|| {
            // Write errors (a closed pipe) are ignored: output is best effort.
            if self.inner.format == OutputFormat::Json {
                let _ = writeln!(std::io::stderr(), "{line}");
            } else {
                let _ = writeln!(std::io::stdout(), "{line}");
            }
        });
    }

    /// A warning, always on stderr.
    pub fn warn(&self, line: impl AsRef<str>) {
        let line = line.as_ref();
        self.inner.multi.suspend(|| eprintln!("warning: {line}"));
    }

    /// Print a result: its `Display` as text, or its JSON on stdout.
    pub fn emit<T: Serialize + std::fmt::Display>(&self, value: &T) {
        self.inner.multi.suspend(|| {
            let mut out = std::io::stdout().lock();
            match self.inner.format {
                OutputFormat::Text => {
                    let _ = write!(out, "{value}");
                }
                OutputFormat::Json => {
                    let _ = serde_json::to_writer_pretty(&mut out, value);
                    let _ = writeln!(out);
                }
            }
            let _ = out.flush();
        });
    }

    /// Whether [`Ui::confirm`] will ask on the terminal (no `--yes`, and a terminal to ask on).
    pub fn will_ask(&self) -> bool {
        !self.inner.assume_yes && self.inner.interactive
    }

    /// Show `value` (a plan) on stderr when a question about it follows and stdout carries
    /// JSON: the user must see what they are asked to approve. Text output prints the plan on
    /// stdout with [`Ui::emit`] instead.
    pub fn show_before_prompt<T: std::fmt::Display>(&self, value: &T) {
        if self.inner.format != OutputFormat::Json || !self.will_ask() {
            return;
        }
        self.inner.multi.suspend(|| {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "{value}");
            let _ = err.flush();
        });
    }

    /// Ask before a change. `--yes` answers for the user; without a terminal we refuse.
    pub fn confirm(&self, question: &str, action: &str) -> Result<(), Error> {
        if self.inner.assume_yes {
            return Ok(());
        }
        if !self.inner.interactive {
            return Err(Error::NeedsConfirmation {
                action: action.to_string(),
            });
        }
        let answer = self.inner.multi.suspend(|| {
            dialoguer::Confirm::new()
                .with_prompt(question)
                .default(false)
                .interact()
        });
        match answer {
            Ok(true) => Ok(()),
            Ok(false) => Err(Error::Declined),
            Err(dialoguer::Error::IO(e)) if e.kind() == std::io::ErrorKind::Interrupted => {
                Err(Error::Interrupted)
            }
            Err(e) => Err(Error::usage(
                format!("could not read the answer: {e}"),
                "pass --yes to proceed without a prompt",
            )),
        }
    }
}

/// The progress line of one running step. Cheap to clone.
#[derive(Clone)]
pub struct StepProgress {
    inner: Arc<ProgressInner>,
}

struct ProgressInner {
    name: String,
    bar: Option<ProgressBar>,
    started: Instant,
    last: Mutex<String>,
    silent: bool,
    /// Plain lines go to stderr when stdout carries JSON.
    to_stderr: bool,
}

impl StepProgress {
    /// A progress handle that prints nothing.
    pub fn silent(name: &str) -> StepProgress {
        StepProgress {
            inner: Arc::new(ProgressInner {
                name: name.to_string(),
                bar: None,
                started: Instant::now(),
                last: Mutex::new(String::new()),
                silent: true,
                to_stderr: true,
            }),
        }
    }

    /// Say what the step is doing now.
    pub fn message(&self, msg: &str) {
        self.update(msg.to_string());
    }

    /// Say what the step is waiting on.
    pub fn waiting(&self, what: &str) {
        self.update(format!("waiting for {what}"));
    }

    fn update(&self, msg: String) {
        // A panic elsewhere while holding the lock leaves a usable string behind.
        let mut last = self
            .inner
            .last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if *last == msg {
            return;
        }
        *last = msg.clone();
        drop(last);
        match &self.inner.bar {
            Some(bar) => bar.set_message(msg),
            None => self.plain(&msg),
        }
    }

    /// End the line with a final word (`done`, `failed: …`).
    pub fn finish(&self, outcome: &str) {
        let elapsed =
            humantime::format_duration(Duration::from_secs(self.inner.started.elapsed().as_secs()));
        let msg = format!("{outcome} after {elapsed}");
        match &self.inner.bar {
            Some(bar) => bar.finish_with_message(msg),
            None => self.plain(&msg),
        }
    }

    fn plain(&self, msg: &str) {
        if self.inner.silent {
            return;
        }
        let line = format!(
            "{} {:<11} {}",
            chrono::Utc::now().format("%H:%M:%S"),
            self.inner.name,
            msg
        );
        if self.inner.to_stderr {
            let _ = writeln!(std::io::stderr(), "{line}");
        } else {
            let _ = writeln!(std::io::stdout(), "{line}");
        }
    }
}
