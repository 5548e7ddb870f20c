//! The shell proper: cqlsh's `Shell` class. It reads lines, splits them into
//! statements ([`super::split`]), runs cqlsh's own commands and sends everything
//! else to the node, and prints results and errors as cqlsh does.
//!
//! **Modes.** Interactive (`tty`: standard input is a terminal and neither `-e`
//! nor `-f` was given): prompts, line editing and history, a `---MORE---` pause
//! between pages, a blank line after each page, no line numbers in errors. Batch
//! (a pipe, `-e`, `-f`, `SOURCE`): no prompts, every page fetched without pausing,
//! errors prefixed with `<input>:<line>:` like cqlsh (whose line number is one past
//! the statement's last line, because it counts the line it is about to read).
//!
//! **Output**, from cqlsh's `print_result`: a blank line; each page's table (the
//! header on the first page, and on every page when interactive; widths per page);
//! a blank line; `(N rows)`. `EXPAND ON` prints rows vertically. A conditional
//! update's `[applied]` rows print as a table without the count. DESCRIBE prints
//! each `create_statement` after a blank line, and listings (`DESCRIBE TABLES`)
//! in columns. Errors go to standard error, in red on a colour terminal.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use rustyline::error::ReadlineError;
use rustyline::DefaultEditor;
use sibyl_cql::protocol::{
    ColumnSpec, Consistency, ErrorKind, Failures, QueryParameters, ResultBody, Rows,
};

use super::commands::{self, Switch, Tok, HELP_TOPICS};
use super::copy;
use super::format::format_cell;
use super::split::{first_word, split, Split};
use super::table::{self, color, Cell};
use crate::client::{Client, ClientConfig, ClientError};

/// cqlsh's default page size (`PAGING ON`).
pub const DEFAULT_PAGE_SIZE: i32 = 100;

/// How deep `SOURCE` may nest (a file that sources itself would otherwise recurse
/// until the stack overflows; cqlsh has no bound and does exactly that).
const MAX_SOURCE_DEPTH: usize = 16;

/// cqlsh prints the first few decoding errors after a table and counts the rest.
const DECODE_ERRORS_SHOWN: usize = 2;

/// HISTORY's default length (cqlsh's `max_history_length_shown`).
const HISTORY_SHOWN_DEFAULT: usize = 50;

/// Lines of history kept in the history file.
pub const HISTORY_FILE_ENTRIES: usize = 1000;

/// Python's `cmd.Cmd.columnize` width, which cqlsh never changes.
const COLUMNIZE_WIDTH: usize = 80;

/// Empty lines typed inside an unfinished statement before cqlsh reminds the
/// user how statements end.
const EMPTY_LINES_BEFORE_HINT: usize = 3;

/// cqlsh's version line shows a cqlsh version; ours is the binary's.
const SHELL_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Where lines come from.
pub enum Input {
    /// The terminal, through the shell's line editor.
    Tty,
    /// A pipe or file, line by line.
    Lines(Box<dyn BufRead>),
    /// One statement (`-e`), then end of input.
    Single(Option<String>),
}

enum Line {
    Text(String),
    Eof,
    Interrupted,
}

/// What `system.local` says about the node (for the banner and SHOW VERSION).
#[derive(Clone, Debug, Default)]
struct ServerInfo {
    cluster_name: String,
    release_version: String,
    cql_version: String,
}

/// How the shell was started.
pub struct ShellOptions {
    /// Host as given (for messages).
    pub host: String,
    /// Port.
    pub port: u16,
    /// Resolved address.
    pub addr: SocketAddr,
    /// Client settings (also used to reconnect).
    pub client_config: ClientConfig,
    /// Interactive mode.
    pub tty: bool,
    /// Colour output.
    pub color: bool,
    /// Name of the batch input for error prefixes (`<stdin>` or the file).
    pub input_name: String,
    /// History file (interactive only).
    pub history_path: Option<PathBuf>,
}

/// The shell's state.
pub struct Shell {
    rt: tokio::runtime::Runtime,
    client: Client,
    opts: ShellOptions,
    tty: bool,
    color: bool,
    keyspace: Option<String>,
    consistency: Consistency,
    serial_consistency: Consistency,
    paging: bool,
    page_size: i32,
    expand: bool,
    statement_error: bool,
    show_line_nums: bool,
    input_name: String,
    lineno: usize,
    stop: bool,
    server: Option<ServerInfo>,
    /// Header colours by (keyspace, table): column name → colour.
    roles: HashMap<(String, String), HashMap<String, &'static str>>,
    editor: Option<DefaultEditor>,
    history_shown: usize,
    source_depth: usize,
}

impl Shell {
    /// A shell on an open connection.
    pub fn new(rt: tokio::runtime::Runtime, client: Client, opts: ShellOptions) -> Shell {
        let tty = opts.tty;
        let input_name = opts.input_name.clone();
        Shell {
            rt,
            client,
            tty,
            color: opts.color,
            keyspace: None,
            consistency: Consistency::One,
            serial_consistency: Consistency::Serial,
            paging: true,
            page_size: DEFAULT_PAGE_SIZE,
            expand: false,
            statement_error: false,
            show_line_nums: !tty,
            input_name,
            lineno: 1,
            stop: false,
            server: None,
            roles: HashMap::new(),
            editor: None,
            history_shown: HISTORY_SHOWN_DEFAULT,
            source_depth: 0,
            opts,
        }
    }

    /// Whether any statement failed (batch mode exits 2 then, as cqlsh).
    pub fn statement_error(&self) -> bool {
        self.statement_error
    }

    /// Installs the line editor and loads the history file.
    pub fn set_editor(&mut self, mut editor: DefaultEditor) {
        if let Some(p) = &self.opts.history_path {
            let _ = editor.load_history(p);
        }
        self.editor = Some(editor);
    }

    /// `USE ks` at connect (`-k`); an error is a connection error.
    pub fn use_keyspace(&mut self, ks: &str) -> Result<(), ClientError> {
        let text = format!("USE {}", protect_name(ks));
        let reply = self.rt.block_on(self.client.query_simple(&text))?;
        if let ResultBody::SetKeyspace(k) = reply.result {
            self.keyspace = Some(k);
        }
        Ok(())
    }

    /// The interactive banner.
    pub fn print_banner(&mut self) {
        let info = self.server_info();
        let cluster = if self.color {
            format!("{}{}{}", color::BLUE, info.cluster_name, color::RESET)
        } else {
            info.cluster_name.clone()
        };
        self.write_out(&format!(
            "Connected to {cluster} at {}:{}\n{}\nUse HELP for help.\n",
            self.opts.host,
            self.opts.port,
            self.version_line(&info)
        ));
    }

    fn version_line(&self, info: &ServerInfo) -> String {
        format!(
            "[cqlsh (sibyl {SHELL_VERSION}) | Cassandra {} | CQL spec {} | Native protocol v{}]",
            info.release_version,
            info.cql_version,
            self.client.protocol_version()
        )
    }

    fn server_info(&mut self) -> ServerInfo {
        if let Some(i) = &self.server {
            return i.clone();
        }
        let q = "SELECT cluster_name, release_version, cql_version FROM system.local WHERE key = 'local'";
        let mut info = ServerInfo::default();
        if let Ok(reply) = self.rt.block_on(self.client.query_simple(q)) {
            if let ResultBody::Rows(rows) = reply.result {
                let text = |i: usize| {
                    rows.rows
                        .first()
                        .and_then(|r| r.get(i).cloned().flatten())
                        .map(|b| String::from_utf8_lossy(&b).into_owned())
                        .unwrap_or_default()
                };
                info = ServerInfo {
                    cluster_name: text(0),
                    release_version: text(1),
                    cql_version: text(2),
                };
            }
        }
        self.server = Some(info.clone());
        info
    }

    // ------------------------------------------------------------------
    // The loop
    // ------------------------------------------------------------------

    /// Reads and runs statements until end of input or EXIT.
    pub fn cmdloop(&mut self, input: &mut Input) {
        let mut buffer = String::new();
        let mut empty_lines = 0;
        while !self.stop {
            let prompt = self.prompt(&buffer, &mut empty_lines);
            let line = match self.read_line(input, &prompt) {
                Line::Text(l) => l,
                Line::Eof => {
                    self.handle_eof(&buffer);
                    break;
                }
                Line::Interrupted => {
                    buffer.clear();
                    empty_lines = 0;
                    self.write_out("\n");
                    continue;
                }
            };
            if !buffer.is_empty() && line.trim().is_empty() {
                empty_lines += 1;
            } else {
                empty_lines = 0;
            }
            buffer.push_str(&line);
            if !buffer.ends_with('\n') {
                buffer.push('\n');
            }
            if let Split::Complete(statements) = split(&buffer) {
                self.add_history(&buffer);
                buffer.clear();
                empty_lines = 0;
                for s in statements {
                    self.handle_statement(&s);
                    if self.stop {
                        break;
                    }
                }
            }
        }
        self.save_history();
    }

    fn prompt(&self, buffer: &str, empty_lines: &mut usize) -> String {
        if !self.tty {
            return String::new();
        }
        if buffer.is_empty() {
            return match &self.keyspace {
                Some(ks) => format!("cqlsh:{ks}> "),
                None => "cqlsh> ".into(),
            };
        }
        if *empty_lines >= EMPTY_LINES_BEFORE_HINT {
            *empty_lines = 0;
            return "Statements are terminated with a ';'.  You can press CTRL-C to cancel an incomplete statement.".into();
        }
        match &self.keyspace {
            Some(ks) => format!("{}    ... ", " ".repeat(ks.chars().count())),
            None => "   ... ".into(),
        }
    }

    fn read_line(&mut self, input: &mut Input, prompt: &str) -> Line {
        let line = match input {
            Input::Single(s) => match s.take() {
                Some(s) => Line::Text(s),
                None => Line::Eof,
            },
            Input::Lines(r) => {
                let mut bytes = Vec::new();
                match r.read_until(b'\n', &mut bytes) {
                    Ok(0) => Line::Eof,
                    Ok(_) => Line::Text(String::from_utf8_lossy(&bytes).into_owned()),
                    Err(e) => {
                        self.printerr(&format!("cannot read input: {e}"));
                        Line::Eof
                    }
                }
            }
            Input::Tty => match self.editor.as_mut() {
                Some(ed) => match ed.readline(prompt) {
                    Ok(l) => Line::Text(l),
                    Err(ReadlineError::Interrupted) => Line::Interrupted,
                    Err(ReadlineError::Eof) => Line::Eof,
                    Err(e) => {
                        self.printerr(&format!("cannot read input: {e}"));
                        Line::Eof
                    }
                },
                None => Line::Eof,
            },
        };
        // cqlsh counts lines read from a file or pipe (so its error prefix names the
        // line after the statement); the -e statement is not read and stays line 1.
        if matches!(
            (&line, &input),
            (Line::Text(_), Input::Lines(_) | Input::Tty)
        ) {
            self.lineno += 1;
        }
        line
    }

    fn handle_eof(&mut self, buffer: &str) {
        if self.tty {
            self.write_out("\n");
        }
        if buffer.trim().is_empty() {
            return;
        }
        match split(buffer) {
            Split::Complete(statements) => {
                for s in statements {
                    self.handle_statement(&s);
                }
            }
            Split::Incomplete => self.printerr("Incomplete statement at end of file"),
        }
    }

    fn add_history(&mut self, buffer: &str) {
        if !self.tty || buffer.trim().is_empty() {
            return;
        }
        // Like cqlsh, a multi-line statement is kept as one line.
        let entry = buffer
            .split('\n')
            .map(str::trim_end)
            .collect::<Vec<_>>()
            .join(" ");
        if let Some(ed) = self.editor.as_mut() {
            let _ = ed.add_history_entry(entry.trim());
        }
    }

    fn save_history(&mut self) {
        if let (Some(ed), Some(p)) = (self.editor.as_mut(), &self.opts.history_path) {
            if let Some(dir) = p.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            let _ = ed.save_history(p);
        }
    }

    // ------------------------------------------------------------------
    // Output
    // ------------------------------------------------------------------

    fn write_out(&self, s: &str) {
        let mut o = std::io::stdout().lock();
        let _ = o.write_all(s.as_bytes());
        let _ = o.flush();
    }

    fn write_colored(&self, s: &str, c: &'static str) {
        if self.color {
            self.write_out(&format!("{c}{s}{}\n", color::RESET));
        } else {
            self.write_out(&format!("{s}\n"));
        }
    }

    /// cqlsh's `printerr`: marks the run failed, prefixes `<input>:<line>:` in
    /// batch mode, red on a colour terminal, to standard error.
    pub fn printerr(&mut self, text: &str) {
        self.statement_error = true;
        let text = if self.show_line_nums {
            format!("{}:{}:{text}", self.input_name, self.lineno)
        } else {
            text.to_string()
        };
        let line = if self.color {
            format!("{}{text}{}\n", color::RED, color::RESET)
        } else {
            format!("{text}\n")
        };
        let mut e = std::io::stderr().lock();
        let _ = e.write_all(line.as_bytes());
        let _ = e.flush();
    }

    fn print_warnings(&self, warnings: &[String]) {
        if warnings.is_empty() {
            return;
        }
        let mut s = String::from("\nWarnings :\n");
        for w in warnings {
            s.push_str(w);
            s.push_str("\n\n");
        }
        self.write_out(&s);
    }

    // ------------------------------------------------------------------
    // Statements
    // ------------------------------------------------------------------

    fn handle_statement(&mut self, text: &str) {
        let word = first_word(text);
        match word.as_str() {
            "select" => self.perform_statement(text, true),
            "describe" | "desc" => self.describe(text),
            "copy" => self.copy(text),
            "source" => self.source(text),
            "consistency" => self.consistency_cmd(text, false),
            "serial" => self.consistency_cmd(text, true),
            "expand" => self.expand_cmd(text),
            "paging" => self.paging_cmd(text),
            "exit" | "quit" => self.stop = true,
            "help" | "?" => self.help(text),
            "clear" | "cls" => self.write_out("\x1b[H\x1b[2J"),
            "show" => self.show(text),
            "history" => self.history(text),
            "tracing" | "capture" | "login" | "debug" => {
                let msg = format!(
                    "{} is not supported by this cqlsh.",
                    word.to_ascii_uppercase()
                );
                self.printerr(&msg);
            }
            "unicode" => {}
            _ => self.perform_statement(text, false),
        }
    }

    fn improper(&mut self, word: &str) {
        self.printerr(&format!("Improper {word} command."));
    }

    fn tokens(&mut self, text: &str) -> Option<Vec<Tok>> {
        match commands::tokenize(text) {
            Ok(t) => Some(t),
            Err(_) => {
                self.improper(&first_word(text));
                None
            }
        }
    }

    /// Reconnects after the connection died (the Python driver reconnects on its
    /// own); `false` if that failed too.
    fn ensure_connected(&mut self) -> bool {
        if self.client.closed().is_none() {
            return true;
        }
        let addr = self.opts.addr;
        let config = self.opts.client_config.clone();
        match self.rt.block_on(Client::connect(addr, &config)) {
            Ok(c) => {
                self.client = c;
                if let Some(ks) = self.keyspace.clone() {
                    if let Err(e) = self.use_keyspace(&ks) {
                        let msg = self.client_error_text(&e);
                        self.printerr(&msg);
                    }
                }
                true
            }
            Err(e) => {
                let msg = format!(
                    "NoHostAvailable: ('Unable to connect to any servers', {{'{}:{}': '{e}'}})",
                    self.opts.host, self.opts.port
                );
                self.printerr(&msg);
                false
            }
        }
    }

    fn params(&self, consistency: Consistency) -> QueryParameters {
        let mut p = QueryParameters::new(consistency);
        p.serial_consistency = Some(self.serial_consistency);
        if self.paging {
            p.page_size = Some(self.page_size);
        }
        p
    }

    /// Runs `fut` on the runtime; on an interactive terminal Ctrl-C abandons it
    /// (`None`), as cqlsh returns to the prompt on KeyboardInterrupt.
    fn run<T>(&self, fut: impl std::future::Future<Output = T>) -> Option<T> {
        if !self.tty {
            return Some(self.rt.block_on(fut));
        }
        self.rt.block_on(async {
            tokio::select! {
                r = fut => Some(r),
                _ = tokio::signal::ctrl_c() => None,
            }
        })
    }

    fn query(
        &mut self,
        text: &str,
        params: QueryParameters,
    ) -> Option<Result<crate::client::Reply, ClientError>> {
        if !self.ensure_connected() {
            return None;
        }
        let client = self.client.clone();
        let r = self.run(client.query(text, params));
        if r.is_none() {
            self.write_out("\n");
        }
        r
    }

    fn perform_statement(&mut self, text: &str, is_select: bool) {
        let params = self.params(self.consistency);
        let Some(result) = self.query(text, params.clone()) else {
            return;
        };
        let reply = match result {
            Ok(r) => r,
            Err(e) => {
                let msg = self.client_error_text(&e);
                self.printerr(&msg);
                return;
            }
        };
        match reply.result {
            ResultBody::Rows(rows) if is_select => self.print_result(text, params, rows),
            ResultBody::Rows(rows) if !rows.rows.is_empty() => {
                // A conditional update's [applied] row(s).
                let columns = rows.metadata.columns.clone().unwrap_or_default();
                let mut errors = Vec::new();
                let mut out = String::from("\n");
                out.push_str(&self.render_page(&columns, &rows, true, 0, &mut errors));
                self.write_out(&out);
            }
            ResultBody::SetKeyspace(ks) => self.keyspace = Some(ks),
            ResultBody::SchemaChange(_) => self.roles.clear(),
            _ => {}
        }
        self.print_warnings(&reply.warnings);
    }

    fn print_result(&mut self, text: &str, mut params: QueryParameters, first: Rows) {
        self.write_out("\n");
        let columns = first.metadata.columns.clone().unwrap_or_default();
        let mut errors = Vec::new();
        let mut num_rows = 0;
        let mut is_first = true;
        let mut page = first;
        loop {
            if !page.rows.is_empty() || is_first {
                let with_header = is_first || self.tty;
                let s = self.render_page(&columns, &page, with_header, num_rows, &mut errors);
                self.write_out(&s);
                num_rows += page.rows.len();
            }
            let next = match page.metadata.paging_state.take() {
                Some(state) if self.paging => state,
                _ => {
                    if !self.tty {
                        self.write_out("\n");
                    }
                    break;
                }
            };
            if self.tty && !self.more_prompt() {
                return;
            }
            params.paging_state = Some(next);
            let Some(result) = self.query(text, params.clone()) else {
                return;
            };
            match result {
                Ok(reply) => match reply.result {
                    ResultBody::Rows(r) => page = r,
                    other => {
                        self.printerr(&format!("Unexpected result for a page: {other:?}"));
                        return;
                    }
                },
                Err(e) => {
                    let msg = self.client_error_text(&e);
                    self.printerr(&msg);
                    return;
                }
            }
            is_first = false;
        }
        self.write_out(&format!("({num_rows} rows)\n"));
        for e in errors.iter().take(DECODE_ERRORS_SHOWN) {
            self.write_colored(e, color::RED);
        }
        if errors.len() > DECODE_ERRORS_SHOWN {
            let msg = format!(
                "{} more decoding errors suppressed.",
                errors.len() - DECODE_ERRORS_SHOWN
            );
            self.write_colored(&msg, color::RED);
        }
    }

    /// `---MORE---`; false when the user interrupted (Ctrl-C / Ctrl-D).
    fn more_prompt(&mut self) -> bool {
        let answer = match self.editor.as_mut() {
            Some(ed) => ed.readline("---MORE---").map(|_| ()),
            None => {
                self.write_out("---MORE---");
                let mut s = String::new();
                match std::io::stdin().read_line(&mut s) {
                    Ok(n) if n > 0 => Ok(()),
                    _ => Err(ReadlineError::Eof),
                }
            }
        };
        match answer {
            Ok(()) => true,
            Err(_) => {
                self.write_out("\n");
                false
            }
        }
    }

    /// One page as cqlsh's `print_static_result` prints it.
    fn render_page(
        &mut self,
        columns: &[ColumnSpec],
        page: &Rows,
        with_header: bool,
        row_offset: usize,
        errors: &mut Vec<String>,
    ) -> String {
        if columns.is_empty() {
            return String::new();
        }
        let header = self.header_cells(columns);
        if page.rows.is_empty() {
            let widths = table::column_widths(&header, std::iter::empty());
            return format!(
                "{}\n{}\n\n",
                table::header_line(&header, &widths, self.color),
                table::rule_line(&widths)
            );
        }
        let rows: Vec<Vec<Cell>> = page
            .rows
            .iter()
            .map(|r| {
                columns
                    .iter()
                    .enumerate()
                    .map(|(i, c)| {
                        format_cell(
                            r.get(i).and_then(|v| v.as_deref()),
                            &c.cql_type,
                            &c.name,
                            errors,
                        )
                    })
                    .collect()
            })
            .collect();
        if self.expand {
            return table::format_expanded(&header, &rows, row_offset + 1, self.color);
        }
        let widths = table::column_widths(&header, rows.iter().map(Vec::as_slice));
        let mut out = String::new();
        if with_header {
            out.push_str(&table::header_line(&header, &widths, self.color));
            out.push('\n');
            out.push_str(&table::rule_line(&widths));
            out.push('\n');
        }
        for r in &rows {
            out.push_str(&table::row_line(r, &widths, self.color));
            out.push('\n');
        }
        if self.tty {
            out.push('\n');
        }
        out
    }

    /// Column names, coloured by their role in the table (partition key red,
    /// clustering cyan, static white, others magenta) as cqlsh does.
    fn header_cells(&mut self, columns: &[ColumnSpec]) -> Vec<Cell> {
        let roles = if self.color {
            columns
                .first()
                .map(|c| self.column_roles(&c.keyspace, &c.table))
                .unwrap_or_default()
        } else {
            HashMap::new()
        };
        columns
            .iter()
            .map(|c| {
                Cell::colored(
                    c.name.clone(),
                    roles.get(&c.name).copied().unwrap_or(color::MAGENTA),
                )
            })
            .collect()
    }

    fn column_roles(&mut self, ks: &str, table: &str) -> HashMap<String, &'static str> {
        if ks.is_empty() || table.is_empty() {
            return HashMap::new();
        }
        let key = (ks.to_string(), table.to_string());
        if let Some(r) = self.roles.get(&key) {
            return r.clone();
        }
        let q = format!(
            "SELECT column_name, kind FROM system_schema.columns WHERE keyspace_name = '{}' AND table_name = '{}'",
            ks.replace('\'', "''"),
            table.replace('\'', "''")
        );
        let mut roles = HashMap::new();
        if let Ok(reply) = self.rt.block_on(self.client.query_simple(&q)) {
            if let ResultBody::Rows(rows) = reply.result {
                for r in &rows.rows {
                    let text = |i: usize| {
                        r.get(i)
                            .cloned()
                            .flatten()
                            .map(|b| String::from_utf8_lossy(&b).into_owned())
                            .unwrap_or_default()
                    };
                    let c = match text(1).as_str() {
                        "partition_key" => color::RED,
                        "clustering" => color::CYAN,
                        "static" => color::WHITE,
                        _ => color::MAGENTA,
                    };
                    roles.insert(text(0), c);
                }
            }
        }
        self.roles.insert(key, roles.clone());
        roles
    }

    /// A failed request as cqlsh prints it (module docs of [`super::table`]).
    pub fn client_error_text(&self, e: &ClientError) -> String {
        let host = format!("{}:{}", self.opts.addr.ip(), self.opts.addr.port());
        match e {
            ClientError::Server(body) => server_error_text(body),
            ClientError::RequestTimeout(_) => format!(
                "OperationTimedOut: errors={{'{host}': 'Client request timeout. See Session.execute[_async](timeout)'}}, last_host={host}"
            ),
            ClientError::Closed(why) | ClientError::Io(why) => format!(
                "NoHostAvailable: ('Unable to complete the operation against any hosts', {{'{host}': '{why}'}})"
            ),
            other => format!("ProtocolError: {other}"),
        }
    }

    // ------------------------------------------------------------------
    // DESCRIBE
    // ------------------------------------------------------------------

    fn describe(&mut self, text: &str) {
        let mut params = self.params(Consistency::LocalOne);
        let mut rows: Vec<Vec<Option<Vec<u8>>>> = Vec::new();
        let mut columns: Vec<ColumnSpec> = Vec::new();
        let mut warnings = Vec::new();
        loop {
            let Some(result) = self.query(text, params.clone()) else {
                return;
            };
            match result {
                Err(e) => {
                    // cqlsh prints only the server's message for DESCRIBE.
                    let msg = match &e {
                        ClientError::Server(b) => b.message.clone(),
                        other => self.client_error_text(other),
                    };
                    self.printerr(&msg);
                    return;
                }
                Ok(reply) => {
                    warnings.extend(reply.warnings);
                    match reply.result {
                        ResultBody::Rows(mut page) => {
                            if columns.is_empty() {
                                columns = page.metadata.columns.clone().unwrap_or_default();
                            }
                            rows.append(&mut page.rows);
                            match page.metadata.paging_state.take() {
                                Some(s) if self.paging => params.paging_state = Some(s),
                                _ => break,
                            }
                        }
                        _ => break,
                    }
                }
            }
        }
        let toks = commands::tokenize(text).unwrap_or_default();
        let what = toks
            .get(1)
            .map(|t| match t {
                Tok::Word(w) => w.to_ascii_lowercase(),
                Tok::Str(s) | Tok::Ident(s) => s.clone(),
                Tok::Punct(c) => c.to_string(),
            })
            .unwrap_or_default();
        let col = |name: &str| columns.iter().position(|c| c.name == name);
        let text_at = |r: &[Option<Vec<u8>>], i: Option<usize>| -> String {
            i.and_then(|i| r.get(i).cloned().flatten())
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default()
        };
        let mut out = String::new();
        match what.as_str() {
            "columnfamilies" | "tables" | "types" | "functions" | "aggregates" => {
                let (ks_i, name_i) = (col("keyspace_name"), col("name"));
                let mut groups: Vec<(String, Vec<String>)> = Vec::new();
                for r in &rows {
                    let ks = text_at(r, ks_i);
                    let name = text_at(r, name_i);
                    match groups.last_mut() {
                        Some((k, names)) if *k == ks => names.push(name),
                        _ => groups.push((ks, vec![name])),
                    }
                }
                for (ks, names) in &groups {
                    out.push('\n');
                    if self.keyspace.is_none() {
                        out.push_str(&format!(
                            "Keyspace {ks}\n---------{}\n",
                            "-".repeat(ks.chars().count())
                        ));
                    }
                    out.push_str(&table::columnize(names, COLUMNIZE_WIDTH));
                }
                if !groups.is_empty() {
                    out.push('\n');
                }
            }
            "keyspaces" => {
                let name_i = col("name");
                let names: Vec<String> = rows.iter().map(|r| text_at(r, name_i)).collect();
                out.push('\n');
                out.push_str(&table::columnize(&names, COLUMNIZE_WIDTH));
                out.push('\n');
            }
            "cluster" => {
                for r in &rows {
                    out.push_str(&format!(
                        "\nCluster: {}\nPartitioner: {}\nSnitch: {}\n\n",
                        text_at(r, col("cluster")),
                        text_at(r, col("partitioner")),
                        text_at(r, col("snitch"))
                    ));
                }
            }
            "" => {}
            _ => {
                let stmt_i = col("create_statement");
                for r in &rows {
                    out.push('\n');
                    out.push_str(&text_at(r, stmt_i));
                    out.push('\n');
                }
            }
        }
        self.write_out(&out);
        self.print_warnings(&warnings);
    }

    // ------------------------------------------------------------------
    // Shell commands
    // ------------------------------------------------------------------

    fn consistency_cmd(&mut self, text: &str, serial: bool) {
        let Some(toks) = self.tokens(text) else {
            return;
        };
        let word = if serial { "serial" } else { "consistency" };
        match commands::parse_consistency(&toks, serial) {
            Err(commands::Improper) => self.improper(word),
            Ok(None) if serial => {
                let msg = format!(
                    "Current serial consistency level is {}.\n",
                    self.serial_consistency.name()
                );
                self.write_out(&msg);
            }
            Ok(None) => {
                let msg = format!(
                    "Current consistency level is {}.\n",
                    self.consistency.name()
                );
                self.write_out(&msg);
            }
            Ok(Some(level)) if serial => {
                self.serial_consistency = level;
                self.write_out(&format!(
                    "Serial consistency level set to {}.\n",
                    level.name()
                ));
            }
            Ok(Some(level)) => {
                self.consistency = level;
                self.write_out(&format!("Consistency level set to {}.\n", level.name()));
            }
        }
    }

    /// cqlsh's `SwitchCommand`: returns the new state.
    fn switch(&mut self, state: bool, sw: Switch, command: &str, description: &str) -> bool {
        match sw {
            Switch::Show => {
                let msg = if state {
                    format!("{description} is currently enabled. Use {command} OFF to disable\n")
                } else {
                    format!("{description} is currently disabled. Use {command} ON to enable.\n")
                };
                self.write_out(&msg);
                state
            }
            Switch::On if state => {
                self.printerr(&format!(
                    "{description} is already enabled. Use {command} OFF to disable."
                ));
                state
            }
            Switch::On => {
                self.write_out(&format!("Now {description} is enabled\n"));
                true
            }
            Switch::Off if !state => {
                self.printerr(&format!("{description} is not enabled."));
                state
            }
            Switch::Off => {
                self.write_out(&format!("Disabled {description}.\n"));
                false
            }
            Switch::Value(_) => true,
        }
    }

    fn expand_cmd(&mut self, text: &str) {
        let Some(toks) = self.tokens(text) else {
            return;
        };
        match commands::parse_switch(&toks, false) {
            Ok(sw) => self.expand = self.switch(self.expand, sw, "EXPAND", "Expanded output"),
            Err(commands::Improper) => self.improper("expand"),
        }
    }

    fn paging_cmd(&mut self, text: &str) {
        let Some(toks) = self.tokens(text) else {
            return;
        };
        let sw = match commands::parse_switch(&toks, true) {
            Ok(sw) => sw,
            Err(commands::Improper) => return self.improper("paging"),
        };
        self.paging = self.switch(self.paging, sw, "PAGING", "Query paging");
        if let Switch::Value(n) = sw {
            self.page_size = n;
        }
        if self.paging {
            self.write_out(&format!("Page size: {}\n", self.page_size));
        } else {
            self.page_size = DEFAULT_PAGE_SIZE;
        }
    }

    fn help(&mut self, text: &str) {
        let toks = self.tokens(text).unwrap_or_default();
        let topics: Vec<String> = toks
            .iter()
            .skip(1)
            .filter_map(|t| match t {
                Tok::Word(w) => Some(w.to_ascii_uppercase()),
                _ => None,
            })
            .collect();
        if topics.is_empty() {
            let header = "\nDocumented shell commands:";
            let mut names: Vec<String> = HELP_TOPICS.iter().map(|(n, _)| n.to_string()).collect();
            names.push("DESC".into());
            names.sort();
            let mut out = format!("{header}\n{}\n", "=".repeat(header.len()));
            out.push_str(&table::columnize(&names, COLUMNIZE_WIDTH - 1));
            out.push('\n');
            self.write_out(&out);
            return;
        }
        for t in topics {
            let key = if t == "DESC" {
                "DESCRIBE".to_string()
            } else {
                t.clone()
            };
            match HELP_TOPICS.iter().find(|(n, _)| *n == key) {
                Some((_, doc)) => self.write_out(&format!("{doc}\n")),
                None => self.printerr(&format!("*** No help on {t}")),
            }
        }
    }

    fn show(&mut self, text: &str) {
        let toks = self.tokens(text).unwrap_or_default();
        match toks.get(1).and_then(Tok::keyword).as_deref() {
            Some("VERSION") => {
                let info = self.server_info();
                let line = self.version_line(&info);
                self.write_out(&format!("{line}\n"));
            }
            Some("HOST") => {
                let info = self.server_info();
                let msg = format!(
                    "Connected to {} at {}:{}\n",
                    info.cluster_name, self.opts.host, self.opts.port
                );
                self.write_out(&msg);
            }
            _ => self.improper("show"),
        }
    }

    fn history(&mut self, text: &str) {
        let toks = self.tokens(text).unwrap_or_default();
        if let Some(Tok::Word(n)) = toks.get(1) {
            match n.parse() {
                Ok(n) => self.history_shown = n,
                Err(_) => return self.improper("history"),
            }
        }
        let Some(ed) = self.editor.as_ref() else {
            return;
        };
        let entries: Vec<String> = ed.history().iter().cloned().collect();
        let start = entries.len().saturating_sub(self.history_shown);
        let mut out = String::new();
        for e in &entries[start..] {
            out.push_str(e);
            out.push('\n');
        }
        self.write_out(&out);
    }

    fn source(&mut self, text: &str) {
        let Some(toks) = self.tokens(text) else {
            return;
        };
        let Ok(name) = commands::parse_source(&toks) else {
            return self.improper("source");
        };
        let path = expand_user(&name);
        if self.source_depth >= MAX_SOURCE_DEPTH {
            return self.printerr(&format!(
                "SOURCE nested more than {MAX_SOURCE_DEPTH} deep; not reading '{}'",
                path.display()
            ));
        }
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) => return self.printerr(&format!("Could not open '{}': {e}", path.display())),
        };
        // A sub-shell as cqlsh makes one: batch mode, line numbers from 1. Errors
        // in the file count as errors of this run.
        let saved = (
            self.tty,
            self.show_line_nums,
            std::mem::take(&mut self.input_name),
            self.lineno,
            self.stop,
        );
        self.tty = false;
        self.show_line_nums = true;
        self.input_name = path.display().to_string();
        self.lineno = 1;
        self.source_depth += 1;
        let mut input = Input::Lines(Box::new(BufReader::new(file)));
        self.cmdloop(&mut input);
        self.source_depth -= 1;
        (
            self.tty,
            self.show_line_nums,
            self.input_name,
            self.lineno,
            self.stop,
        ) = saved;
    }

    fn copy(&mut self, text: &str) {
        let Some(toks) = self.tokens(text) else {
            return;
        };
        let cmd = match commands::parse_copy(&toks) {
            Ok(c) => c,
            Err(commands::Improper) => return self.improper("copy"),
        };
        if !self.ensure_connected() {
            return;
        }
        let ctx = copy::CopyContext {
            client: self.client.clone(),
            keyspace: self.keyspace.clone(),
            consistency: self.consistency,
        };
        match self.run(copy::run_copy(ctx, cmd)) {
            None => self.printerr("COPY interrupted."),
            Some(outcome) => {
                for f in &outcome.errors {
                    let msg = match f {
                        copy::Failure::Client(c) => self.client_error_text(c),
                        copy::Failure::Other(s) => s.clone(),
                    };
                    self.printerr(&msg);
                }
                if !outcome.report.is_empty() {
                    self.write_out(&outcome.report);
                }
            }
        }
    }
}

/// A server ERROR as cqlsh shows it: the driver's class and summary, the message,
/// and for some codes the details the driver adds (`info={...}`); AlreadyExists
/// in the driver's own words.
pub fn server_error_text(body: &sibyl_cql::protocol::ErrorBody) -> String {
    let base = table::format_server_error(body.kind.code(), &body.message);
    match &body.kind {
        ErrorKind::AlreadyExists { keyspace, table } if table.is_empty() => {
            format!("AlreadyExists: Keyspace '{keyspace}' already exists")
        }
        ErrorKind::AlreadyExists { keyspace, table } => {
            format!("AlreadyExists: Table '{keyspace}.{table}' already exists")
        }
        ErrorKind::Unavailable { consistency, required, alive } => format!(
            "{base} info={{'consistency': '{}', 'required_replicas': {required}, 'alive_replicas': {alive}}}",
            consistency.name()
        ),
        ErrorKind::ReadTimeout { consistency, received, block_for, data_present } => format!(
            "{base} info={{'consistency': '{}', 'required_responses': {block_for}, 'received_responses': {received}, 'data_retrieved': {}}}",
            consistency.name(),
            if *data_present { "True" } else { "False" }
        ),
        ErrorKind::WriteTimeout { consistency, received, block_for, write_type, .. } => format!(
            "{base} info={{'consistency': '{}', 'required_responses': {block_for}, 'received_responses': {received}, 'write_type': '{write_type}'}}",
            consistency.name()
        ),
        ErrorKind::ReadFailure { consistency, received, block_for, failures, .. }
        | ErrorKind::WriteFailure { consistency, received, block_for, failures, .. } => {
            let n = match failures {
                Failures::Reasons(r) => r.len() as i64,
                Failures::Count(c) => i64::from(*c),
            };
            format!(
                "{base} info={{'consistency': '{}', 'required_responses': {block_for}, 'received_responses': {received}, 'failures': {n}}}",
                consistency.name()
            )
        }
        _ => base,
    }
}

/// A keyspace name as CQL needs it: bare if it is a lower-case identifier,
/// double-quoted otherwise (the Python driver's `protect_name`).
pub fn protect_name(name: &str) -> String {
    let simple = name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if simple {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

/// `~/x` → `$HOME/x`.
pub fn expand_user(name: &str) -> PathBuf {
    if let Some(rest) = name.strip_prefix("~/") {
        if let Some(home) = std::env::var_os("HOME") {
            return Path::new(&home).join(rest);
        }
    }
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_protected_like_the_driver() {
        assert_eq!(protect_name("ks1"), "ks1");
        assert_eq!(protect_name("MyKs"), "\"MyKs\"");
        assert_eq!(protect_name("1ks"), "\"1ks\"");
    }
}
