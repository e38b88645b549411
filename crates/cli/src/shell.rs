//! `eardrum shell`: an interactive prompt over one connection.

use crate::args::Remote;
use crate::remote::connect;
use eardrum_client::{Client, PyFloat, Reply};
use eardrum_protocol::Request;
use rustyline::error::ReadlineError;
use std::path::PathBuf;

const HELP: &str = "\
Requests are sent to the server as typed:
  put KEY VALUE [TIMESTAMP]   store a point (the timestamp defaults to now)
  get KEY                     points of one key
  get *                       points of every key
Shell commands:
  help                        this text
  exit, quit, Ctrl-D          leave
Line editing and history (Up/Down, Ctrl-R) work as in a terminal.";

/// Runs the prompt until end of input.
pub(crate) fn run(remote: Remote) -> anyhow::Result<()> {
    let mut editor = rustyline::DefaultEditor::new()?;
    let history = history_path();
    if let Some(path) = &history {
        // A missing history file is the normal first run.
        let _ = editor.load_history(path);
    }
    let prompt = format!("eardrum {}> ", remote.address());
    let mut client = Some(connect(&remote)?);
    println!("connected to {}; type help for help, Ctrl-D to leave", remote.address());
    loop {
        let line = match editor.readline(&prompt) {
            Ok(line) => line,
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(error) => return Err(error.into()),
        };
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let _ = editor.add_history_entry(line);
        match line {
            "help" | "?" => println!("{HELP}"),
            "exit" | "quit" => break,
            _ => {
                let request = with_default_timestamp(line);
                for text in send(&mut client, &remote, &request) {
                    println!("{text}");
                }
            }
        }
    }
    if let Some(path) = &history {
        let _ = editor.save_history(path);
    }
    Ok(())
}

/// Sends one request, reconnecting first if the last connection failed,
/// and returns the lines to show.
fn send(client: &mut Option<Client>, remote: &Remote, request: &str) -> Vec<String> {
    if client.is_none() {
        match connect(remote) {
            Ok(fresh) => *client = Some(fresh),
            Err(error) => return vec![format!("error: {error:#}")],
        }
    }
    let Some(connection) = client.as_mut() else { return Vec::new() };
    match connection.request(request) {
        Ok(reply) => render(request, reply),
        Err(error) => {
            *client = None;
            vec![format!("error: {error:#} (will reconnect on the next request)")]
        }
    }
}

/// `put KEY VALUE` is completed with the current time, as the client library
/// does; everything else goes out unchanged.
fn with_default_timestamp(line: &str) -> String {
    let words: Vec<&str> = line.split_ascii_whitespace().collect();
    match words.as_slice() {
        ["put", key, value] => {
            let now = eardrum_protocol::clock::unix_seconds();
            format!("put {key} {value} {now}")
        }
        _ => line.to_owned(),
    }
}

/// A reply, readably: `ok`, aligned rows with a count, or the error with
/// what the shell can tell about why.
fn render(request: &str, reply: Reply) -> Vec<String> {
    match reply {
        Reply::Ok(rows) if rows.is_empty() => {
            vec![if request.starts_with("get") { "(no points)".to_owned() } else { "ok".to_owned() }]
        }
        Reply::Ok(rows) => {
            let key_width = rows.iter().map(|row| row.key.chars().count()).max().unwrap_or(0);
            let values: Vec<String> = rows.iter().map(|row| PyFloat(row.value).to_string()).collect();
            let value_width = values.iter().map(String::len).max().unwrap_or(0);
            let mut lines: Vec<String> = rows
                .iter()
                .zip(&values)
                .map(|(row, value)| {
                    format!("{:key_width$}  {value:>value_width$}  {}", row.key, row.timestamp)
                })
                .collect();
            let series = rows.windows(2).filter(|pair| pair[0].key != pair[1].key).count() + 1;
            let plural =
                |n: usize, word: &str| if n == 1 { format!("{n} {word}") } else { format!("{n} {word}s") };
            lines.push(format!(
                "({}, {})",
                plural(rows.len(), "point"),
                plural(series, "series").replace("seriess", "series")
            ));
            lines
        }
        Reply::Error(message) => {
            let why = match Request::parse(request.as_bytes()) {
                Err(error) => format!(": {error}"),
                Ok(_) => {
                    " (the request is well formed; the server could not carry it out, see its log)".to_owned()
                }
            };
            vec![format!("error: {message}{why}")]
        }
    }
}

fn history_path() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".eardrum_history"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use eardrum_client::Row;

    #[test]
    fn renders_rows_aligned_with_a_count() {
        let rows = vec![
            Row { key: "palm.cpu".into(), value: 13.0, timestamp: 1503319739 },
            Row { key: "palm.cpu".into(), value: 1e16, timestamp: 1503319740 },
            Row { key: "x".into(), value: 0.5, timestamp: 1 },
        ];
        assert_eq!(
            render("get *", Reply::Ok(rows)),
            [
                "palm.cpu   13.0  1503319739",
                "palm.cpu  1e+16  1503319740",
                "x           0.5  1",
                "(3 points, 2 series)",
            ]
        );
    }

    #[test]
    fn explains_errors_and_empty_replies() {
        assert_eq!(render("put a 1 1", Reply::Ok(vec![])), ["ok"]);
        assert_eq!(render("get a", Reply::Ok(vec![])), ["(no points)"]);
        let error = render("put a 1", Reply::Error("wrong command".into()));
        assert_eq!(error, ["error: wrong command: `put` takes 3 argument(s), got 2"]);
    }

    #[test]
    fn fills_in_the_timestamp_of_a_two_word_put_only() {
        assert!(with_default_timestamp("put a 1").starts_with("put a 1 17"));
        assert_eq!(with_default_timestamp("put a 1 5"), "put a 1 5");
        assert_eq!(with_default_timestamp("get a"), "get a");
    }
}
