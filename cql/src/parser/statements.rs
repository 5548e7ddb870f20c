//! Statement rules: DML, batches, DDL, roles and permissions, DESCRIBE.
//!
//! **What.** `Parser::statement` looks at the first keyword (and, for
//! `CREATE`/`ALTER`/`DROP`, the second) and hands over to one function per
//! statement kind, each following the corresponding rule of Cassandra's
//! `Parser.g` and the syntax in the CQL docs (`dml.adoc`, `ddl.adoc`,
//! `security.adoc`, `describe.adoc` of Cassandra 4.x/5.0):
//!
//! * `SELECT [JSON] [DISTINCT] … FROM … [WHERE …] [GROUP BY …]
//!   [ORDER BY …] [PER PARTITION LIMIT n] [LIMIT n] [ALLOW FILTERING]`;
//! * `INSERT` (columns/VALUES or JSON), `UPDATE`, `DELETE`, `BATCH`;
//! * keyspaces, tables, types, indexes, materialized views, `USE`,
//!   `TRUNCATE`;
//! * roles, users, `GRANT`/`REVOKE`/`LIST` (minimal, for a later auth layer);
//! * server-side `DESCRIBE`.
//!
//! **Why keyword dispatch.** It gives Cassandra's error for an unknown verb
//! or object (`no viable alternative at input 'TABL'`) at the right token,
//! and keeps each statement's function short enough to check against the
//! grammar.
//!
//! **What not.** User-defined functions, aggregates and triggers are only
//! recognised (`Statement::Unsupported` with their text): Sibyl does not run
//! user code. Semantic checks (one primary key, counter rules, …) belong to
//! the executor.

use super::ast::*;
use super::cursor::{PResult, Parser};
use super::lexer::TokenKind;

impl Parser<'_> {
    /// One statement, without the trailing `;`.
    pub(crate) fn statement(&mut self) -> PResult<Statement> {
        let start = self.pos;
        if self.kind() != TokenKind::Word {
            return Err(self.no_viable());
        }
        let word = self.peek().value.clone();
        match word.as_str() {
            "select" => self.select().map(Statement::Select),
            "insert" => self.insert().map(Statement::Insert),
            "update" => self.update().map(Statement::Update),
            "delete" => self.delete().map(Statement::Delete),
            "begin" => self.batch().map(Statement::Batch),
            "use" => {
                self.bump();
                Ok(Statement::Use(self.ident()?))
            }
            "truncate" => {
                self.bump();
                let _ = self.eat_kw("table") || self.eat_kw("columnfamily");
                Ok(Statement::Truncate(self.qualified_name()?))
            }
            "create" => self.create(start),
            "alter" => self.alter(),
            "drop" => self.drop(start),
            "grant" => self.grant(),
            "revoke" => self.revoke(),
            "list" => self.list(),
            "describe" | "desc" => self.describe().map(Statement::Describe),
            _ => Err(self.no_viable()),
        }
    }

    /// Consumes the rest of a statement we only recognise.
    fn unsupported(&mut self, start: usize, kind: &str) -> PResult<Statement> {
        while !self.at_statement_end() {
            self.bump();
        }
        Ok(Statement::Unsupported {
            kind: kind.to_string(),
            text: self.text_between(start, self.pos),
        })
    }

    /// `JSON`/`DISTINCT` after SELECT are keywords unless they are the
    /// selected column itself (`SELECT json FROM t`).
    fn select_modifier(&mut self, kw: &str) -> bool {
        if !self.is_kw(kw) {
            return false;
        }
        let next = self.peek_at(1);
        let is_column = matches!(
            next.kind,
            TokenKind::Comma | TokenKind::Dot | TokenKind::LParen | TokenKind::LBracket
        ) || (next.kind == TokenKind::Word
            && (next.value == "from" || next.value == "as"));
        if is_column {
            return false;
        }
        self.bump();
        true
    }

    fn select(&mut self) -> PResult<SelectStatement> {
        self.expect_kw("select")?;
        let json = self.select_modifier("json");
        let distinct = self.select_modifier("distinct");
        let selection = self.selection()?;
        self.expect_kw("from")?;
        let table = self.qualified_name()?;
        let where_clause = if self.eat_kw("where") {
            self.where_clause()?
        } else {
            Vec::new()
        };
        let mut group_by = Vec::new();
        if self.is_kw("group") && self.is_kw_at(1, "by") {
            self.pos += 2;
            group_by = self.ident_list()?;
        }
        let mut order_by = Vec::new();
        if self.eat_kw("order") {
            self.expect_kw("by")?;
            loop {
                let col = self.ident()?;
                let ordering = if self.eat_kw("desc") {
                    Ordering::Desc
                } else if self.eat_kw("asc") {
                    Ordering::Asc
                } else if self.is_kw("ann") && self.is_kw_at(1, "of") {
                    self.pos += 2;
                    Ordering::Ann(self.term()?)
                } else {
                    Ordering::Asc
                };
                order_by.push((col, ordering));
                if !self.eat(TokenKind::Comma) {
                    break;
                }
            }
        }
        let mut per_partition_limit = None;
        if self.is_kw("per") && self.is_kw_at(1, "partition") {
            self.pos += 2;
            self.expect_kw("limit")?;
            per_partition_limit = Some(self.int_value()?);
        }
        let limit = if self.eat_kw("limit") {
            Some(self.int_value()?)
        } else {
            None
        };
        let allow_filtering = if self.eat_kw("allow") {
            self.expect_kw("filtering")?;
            true
        } else {
            false
        };
        Ok(SelectStatement {
            json,
            distinct,
            selection,
            table,
            where_clause,
            group_by,
            order_by,
            per_partition_limit,
            limit,
            allow_filtering,
        })
    }

    fn insert(&mut self) -> PResult<InsertStatement> {
        self.expect_kw("insert")?;
        self.expect_kw("into")?;
        let table = self.qualified_name()?;
        let values = if self.eat_kw("json") {
            let json = match self.kind() {
                TokenKind::Str => Term::Constant(self.constant().ok_or_else(|| self.no_viable())?),
                TokenKind::QMark | TokenKind::Colon => Term::Bind(self.bind_marker()?),
                _ => return Err(self.no_viable()),
            };
            let mut default_unset = false;
            if self.eat_kw("default") {
                if self.eat_kw("unset") {
                    default_unset = true;
                } else if !self.eat_kw("null") {
                    return Err(self.no_viable());
                }
            }
            InsertValues::Json {
                json,
                default_unset,
            }
        } else {
            self.expect(TokenKind::LParen)?;
            let columns = self.ident_list()?;
            self.expect(TokenKind::RParen)?;
            self.expect_kw("values")?;
            self.expect(TokenKind::LParen)?;
            let values = self.term_list_until(TokenKind::RParen)?;
            InsertValues::Values { columns, values }
        };
        let if_not_exists = self.if_not_exists()?;
        let using = if self.eat_kw("using") {
            self.using_body()?
        } else {
            Using::default()
        };
        Ok(InsertStatement {
            table,
            values,
            if_not_exists,
            using,
        })
    }

    /// `IF EXISTS` or `IF conditions`, when present.
    fn if_clause(&mut self) -> PResult<Option<IfClause>> {
        if !self.eat_kw("if") {
            return Ok(None);
        }
        let exists = self.is_kw("exists")
            && !matches!(
                self.kind_at(1),
                TokenKind::Eq
                    | TokenKind::Neq
                    | TokenKind::Lt
                    | TokenKind::Lte
                    | TokenKind::Gt
                    | TokenKind::Gte
                    | TokenKind::LBracket
                    | TokenKind::Dot
            )
            && !self.is_kw_at(1, "in");
        if exists {
            self.bump();
            return Ok(Some(IfClause::Exists));
        }
        Ok(Some(IfClause::Conditions(self.conditions()?)))
    }

    fn update(&mut self) -> PResult<UpdateStatement> {
        self.expect_kw("update")?;
        let table = self.qualified_name()?;
        let using = if self.eat_kw("using") {
            self.using_body()?
        } else {
            Using::default()
        };
        self.expect_kw("set")?;
        let mut assignments = vec![self.assignment()?];
        while self.eat(TokenKind::Comma) {
            assignments.push(self.assignment()?);
        }
        self.expect_kw("where")?;
        let where_clause = self.where_clause()?;
        let if_clause = self.if_clause()?;
        Ok(UpdateStatement {
            table,
            using,
            assignments,
            where_clause,
            if_clause,
        })
    }

    fn assignment(&mut self) -> PResult<Assignment> {
        let column = self.ident()?;
        match self.kind() {
            TokenKind::LBracket => {
                self.bump();
                let key = self.term()?;
                self.expect(TokenKind::RBracket)?;
                self.expect(TokenKind::Eq)?;
                let value = self.term()?;
                Ok(Assignment::SetElement { column, key, value })
            }
            TokenKind::Dot => {
                self.bump();
                let field = self.ident()?;
                self.expect(TokenKind::Eq)?;
                let value = self.term()?;
                Ok(Assignment::SetField {
                    column,
                    field,
                    value,
                })
            }
            TokenKind::PlusEq => {
                self.bump();
                let value = self.term()?;
                Ok(Assignment::Add { column, value })
            }
            TokenKind::MinusEq => {
                self.bump();
                let value = self.term()?;
                Ok(Assignment::Subtract { column, value })
            }
            _ => {
                self.expect(TokenKind::Eq)?;
                self.assignment_rhs(column)
            }
        }
    }

    /// After `c =`: `v`, `c + v`, `c - v`, `c -1`, `v + c`.
    fn assignment_rhs(&mut self, column: String) -> PResult<Assignment> {
        if self.at_ident() && !self.is_function_call_start() {
            let at = self.pos;
            let other = self.ident()?;
            if other != column {
                return Err(self.error_at(
                    at,
                    format!("Only expressions of the form X = X +<value> are supported (got {other} for {column})"),
                ));
            }
            if self.eat(TokenKind::Plus) {
                let value = self.term()?;
                return Ok(Assignment::Add { column, value });
            }
            if self.eat(TokenKind::Minus) {
                let value = self.term()?;
                return Ok(Assignment::Subtract { column, value });
            }
            // `c = c -1`: the lexer glued the minus to the integer.
            if self.kind() == TokenKind::Integer && self.peek().text.starts_with('-') {
                let text = self.bump().text.trim_start_matches('-').to_string();
                let value = Term::Constant(Constant {
                    kind: ConstantKind::Integer,
                    text,
                });
                return Ok(Assignment::Subtract { column, value });
            }
            return Err(self.no_viable());
        }
        let value = self.term()?;
        if self.eat(TokenKind::Plus) {
            let at = self.pos;
            let other = self.ident()?;
            if other != column {
                return Err(self.error_at(
                    at,
                    format!("Only expressions of the form X = <value> + X are supported (got {other} for {column})"),
                ));
            }
            return Ok(Assignment::Prepend { column, value });
        }
        Ok(Assignment::Set { column, value })
    }

    fn delete(&mut self) -> PResult<DeleteStatement> {
        self.expect_kw("delete")?;
        let mut targets = Vec::new();
        if !self.is_kw("from") {
            loop {
                let column = self.ident()?;
                let target = if self.eat(TokenKind::LBracket) {
                    let key = self.term()?;
                    self.expect(TokenKind::RBracket)?;
                    DeleteTarget::Element { column, key }
                } else if self.eat(TokenKind::Dot) {
                    let field = self.ident()?;
                    DeleteTarget::Field { column, field }
                } else {
                    DeleteTarget::Column(column)
                };
                targets.push(target);
                if !self.eat(TokenKind::Comma) {
                    break;
                }
            }
        }
        self.expect_kw("from")?;
        let table = self.qualified_name()?;
        let timestamp = if self.eat_kw("using") {
            self.expect_kw("timestamp")?;
            Some(self.int_value()?)
        } else {
            None
        };
        self.expect_kw("where")?;
        let where_clause = self.where_clause()?;
        let if_clause = self.if_clause()?;
        Ok(DeleteStatement {
            targets,
            table,
            timestamp,
            where_clause,
            if_clause,
        })
    }

    fn batch(&mut self) -> PResult<BatchStatement> {
        self.expect_kw("begin")?;
        let kind = if self.eat_kw("unlogged") {
            BatchKind::Unlogged
        } else if self.eat_kw("counter") {
            BatchKind::Counter
        } else {
            BatchKind::Logged
        };
        self.expect_kw("batch")?;
        let using = if self.eat_kw("using") {
            self.using_body()?
        } else {
            Using::default()
        };
        let mut statements = Vec::new();
        loop {
            let child = if self.is_kw("insert") {
                Statement::Insert(self.insert()?)
            } else if self.is_kw("update") {
                Statement::Update(self.update()?)
            } else if self.is_kw("delete") {
                Statement::Delete(self.delete()?)
            } else {
                break;
            };
            statements.push(child);
            while self.eat(TokenKind::Semicolon) {}
        }
        self.expect_kw("apply")?;
        self.expect_kw("batch")?;
        Ok(BatchStatement {
            kind,
            using,
            statements,
        })
    }

    fn create(&mut self, start: usize) -> PResult<Statement> {
        self.expect_kw("create")?;
        if self.kind() != TokenKind::Word {
            return Err(self.no_viable());
        }
        let word = self.peek().value.clone();
        match word.as_str() {
            "keyspace" | "schema" => {
                self.bump();
                let if_not_exists = self.if_not_exists()?;
                let name = self.ident()?;
                self.expect_kw("with")?;
                let properties = self.simple_properties()?;
                Ok(Statement::CreateKeyspace(CreateKeyspace {
                    if_not_exists,
                    name,
                    properties,
                }))
            }
            "table" | "columnfamily" => {
                self.bump();
                self.create_table().map(Statement::CreateTable)
            }
            "custom" => {
                self.bump();
                self.expect_kw("index")?;
                self.create_index(true).map(Statement::CreateIndex)
            }
            "index" => {
                self.bump();
                self.create_index(false).map(Statement::CreateIndex)
            }
            "type" => {
                self.bump();
                let if_not_exists = self.if_not_exists()?;
                let name = self.qualified_name()?;
                self.expect(TokenKind::LParen)?;
                let mut fields = Vec::new();
                loop {
                    let f = self.ident()?;
                    fields.push((f, self.cql_type()?));
                    if !self.eat(TokenKind::Comma) {
                        break;
                    }
                }
                self.expect(TokenKind::RParen)?;
                Ok(Statement::CreateType(CreateType {
                    if_not_exists,
                    name,
                    fields,
                }))
            }
            "materialized" => {
                self.bump();
                self.expect_kw("view")?;
                self.create_view().map(Statement::CreateMaterializedView)
            }
            "role" => {
                self.bump();
                let if_not_exists = self.if_not_exists()?;
                let name = self.role_name()?;
                let options = if self.eat_kw("with") {
                    self.role_options()?
                } else {
                    Vec::new()
                };
                Ok(Statement::CreateRole(CreateRole {
                    if_not_exists,
                    name,
                    options,
                }))
            }
            "user" => {
                self.bump();
                let if_not_exists = self.if_not_exists()?;
                let name = self.role_name()?;
                let (password, superuser) = self.user_options()?;
                Ok(Statement::CreateUser(CreateUser {
                    if_not_exists,
                    name,
                    password,
                    superuser,
                }))
            }
            "function" => self.unsupported(start, "CREATE FUNCTION"),
            "aggregate" => self.unsupported(start, "CREATE AGGREGATE"),
            "trigger" => self.unsupported(start, "CREATE TRIGGER"),
            "or" => {
                self.bump();
                self.expect_kw("replace")?;
                if self.is_kw("function") {
                    self.unsupported(start, "CREATE FUNCTION")
                } else if self.is_kw("aggregate") {
                    self.unsupported(start, "CREATE AGGREGATE")
                } else {
                    Err(self.no_viable())
                }
            }
            _ => Err(self.no_viable()),
        }
    }

    fn column_definition(&mut self) -> PResult<ColumnDefinition> {
        let name = self.ident()?;
        let ty = self.cql_type()?;
        let is_static = self.eat_kw("static");
        let primary_key = if self.eat_kw("primary") {
            self.expect_kw("key")?;
            true
        } else {
            false
        };
        Ok(ColumnDefinition {
            name,
            ty,
            is_static,
            primary_key,
        })
    }

    /// `( (a, b), c, d )` or `( a, c, d )`, after `PRIMARY KEY`.
    fn primary_key_def(&mut self) -> PResult<PrimaryKey> {
        self.expect(TokenKind::LParen)?;
        let partition = if self.eat(TokenKind::LParen) {
            let cols = self.ident_list()?;
            self.expect(TokenKind::RParen)?;
            cols
        } else {
            vec![self.ident()?]
        };
        let mut clustering = Vec::new();
        while self.eat(TokenKind::Comma) {
            clustering.push(self.ident()?);
        }
        self.expect(TokenKind::RParen)?;
        Ok(PrimaryKey {
            partition,
            clustering,
        })
    }

    fn create_table(&mut self) -> PResult<CreateTable> {
        let if_not_exists = self.if_not_exists()?;
        let name = self.qualified_name()?;
        self.expect(TokenKind::LParen)?;
        let mut columns = Vec::new();
        let mut primary_key = None;
        loop {
            if self.is_kw("primary") {
                self.bump();
                self.expect_kw("key")?;
                primary_key = Some(self.primary_key_def()?);
            } else {
                columns.push(self.column_definition()?);
            }
            // Cassandra tolerates a trailing comma before `)`.
            if !self.eat(TokenKind::Comma) || self.kind() == TokenKind::RParen {
                break;
            }
        }
        self.expect(TokenKind::RParen)?;
        let options = if self.eat_kw("with") {
            self.table_options()?
        } else {
            TableOptions::default()
        };
        Ok(CreateTable {
            if_not_exists,
            name,
            columns,
            primary_key,
            options,
        })
    }

    fn create_index(&mut self, custom: bool) -> PResult<CreateIndex> {
        let if_not_exists = self.if_not_exists()?;
        let name = if self.is_kw("on") {
            None
        } else {
            Some(self.ident()?)
        };
        self.expect_kw("on")?;
        let table = self.qualified_name()?;
        self.expect(TokenKind::LParen)?;
        let mut targets = Vec::new();
        loop {
            let wrapper = if self.kind() == TokenKind::Word && self.kind_at(1) == TokenKind::LParen
            {
                let w = self.peek().value.clone();
                match w.as_str() {
                    "keys" | "values" | "entries" | "full" => {
                        self.pos += 2;
                        Some(w)
                    }
                    _ => return Err(self.no_viable()),
                }
            } else {
                None
            };
            let col = self.ident()?;
            let target = match wrapper.as_deref() {
                None => IndexTarget::Column(col),
                Some(w) => {
                    self.expect(TokenKind::RParen)?;
                    match w {
                        "keys" => IndexTarget::Keys(col),
                        "values" => IndexTarget::Values(col),
                        "entries" => IndexTarget::Entries(col),
                        _ => IndexTarget::Full(col),
                    }
                }
            };
            targets.push(target);
            if !self.eat(TokenKind::Comma) {
                break;
            }
        }
        self.expect(TokenKind::RParen)?;
        let using = if self.eat_kw("using") {
            Some(self.expect(TokenKind::Str)?.value.clone())
        } else {
            None
        };
        let properties = if self.eat_kw("with") {
            self.simple_properties()?
        } else {
            Vec::new()
        };
        Ok(CreateIndex {
            custom,
            if_not_exists,
            name,
            table,
            targets,
            using,
            properties,
        })
    }

    fn create_view(&mut self) -> PResult<CreateMaterializedView> {
        let if_not_exists = self.if_not_exists()?;
        let name = self.qualified_name()?;
        self.expect_kw("as")?;
        self.expect_kw("select")?;
        let selection = self.selection()?;
        self.expect_kw("from")?;
        let base_table = self.qualified_name()?;
        let where_clause = if self.eat_kw("where") {
            self.where_clause()?
        } else {
            Vec::new()
        };
        self.expect_kw("primary")?;
        self.expect_kw("key")?;
        let primary_key = self.primary_key_def()?;
        let options = if self.eat_kw("with") {
            self.table_options()?
        } else {
            TableOptions::default()
        };
        Ok(CreateMaterializedView {
            if_not_exists,
            name,
            selection,
            base_table,
            where_clause,
            primary_key,
            options,
        })
    }

    fn alter(&mut self) -> PResult<Statement> {
        self.expect_kw("alter")?;
        if self.kind() != TokenKind::Word {
            return Err(self.no_viable());
        }
        let word = self.peek().value.clone();
        match word.as_str() {
            "keyspace" | "schema" => {
                self.bump();
                let if_exists = self.if_exists()?;
                let name = self.ident()?;
                self.expect_kw("with")?;
                let properties = self.simple_properties()?;
                Ok(Statement::AlterKeyspace(AlterKeyspace {
                    if_exists,
                    name,
                    properties,
                }))
            }
            "table" | "columnfamily" => {
                self.bump();
                self.alter_table().map(Statement::AlterTable)
            }
            "type" => {
                self.bump();
                self.alter_type().map(Statement::AlterType)
            }
            "materialized" => {
                self.bump();
                self.expect_kw("view")?;
                let name = self.qualified_name()?;
                self.expect_kw("with")?;
                let options = self.table_options()?;
                Ok(Statement::AlterMaterializedView { name, options })
            }
            "role" => {
                self.bump();
                let if_exists = self.if_exists()?;
                let name = self.role_name()?;
                let options = if self.eat_kw("with") {
                    self.role_options()?
                } else {
                    Vec::new()
                };
                Ok(Statement::AlterRole(AlterRole {
                    if_exists,
                    name,
                    options,
                }))
            }
            "user" => {
                self.bump();
                let if_exists = self.if_exists()?;
                let name = self.role_name()?;
                let (password, superuser) = self.user_options()?;
                Ok(Statement::AlterUser(AlterUser {
                    if_exists,
                    name,
                    password,
                    superuser,
                }))
            }
            _ => Err(self.no_viable()),
        }
    }

    /// `a TO b [AND c TO d]*`
    fn renames(&mut self) -> PResult<Vec<(String, String)>> {
        let mut out = Vec::new();
        loop {
            let from = self.ident()?;
            self.expect_kw("to")?;
            out.push((from, self.ident()?));
            if !self.eat_kw("and") {
                return Ok(out);
            }
        }
    }

    fn alter_table(&mut self) -> PResult<AlterTable> {
        let if_exists = self.if_exists()?;
        let name = self.qualified_name()?;
        let action = if self.eat_kw("add") {
            let if_not_exists = self.if_not_exists()?;
            let mut columns = Vec::new();
            if self.eat(TokenKind::LParen) {
                loop {
                    columns.push(self.column_definition()?);
                    if !self.eat(TokenKind::Comma) {
                        break;
                    }
                }
                self.expect(TokenKind::RParen)?;
            } else {
                columns.push(self.column_definition()?);
            }
            AlterTableAction::Add {
                if_not_exists,
                columns,
            }
        } else if self.eat_kw("drop") {
            let if_exists = self.if_exists()?;
            let columns = if self.eat(TokenKind::LParen) {
                let cols = self.ident_list()?;
                self.expect(TokenKind::RParen)?;
                cols
            } else {
                vec![self.ident()?]
            };
            let timestamp = if self.eat_kw("using") {
                self.expect_kw("timestamp")?;
                Some(self.int_value()?)
            } else {
                None
            };
            AlterTableAction::Drop {
                if_exists,
                columns,
                timestamp,
            }
        } else if self.eat_kw("rename") {
            let if_exists = self.if_exists()?;
            AlterTableAction::Rename {
                if_exists,
                renames: self.renames()?,
            }
        } else if self.eat_kw("alter") {
            let column = self.ident()?;
            self.expect_kw("type")?;
            AlterTableAction::AlterColumnType {
                column,
                ty: self.cql_type()?,
            }
        } else if self.eat_kw("with") {
            AlterTableAction::With(self.table_options()?)
        } else {
            return Err(self.no_viable());
        };
        Ok(AlterTable {
            if_exists,
            name,
            action,
        })
    }

    fn alter_type(&mut self) -> PResult<AlterType> {
        let if_exists = self.if_exists()?;
        let name = self.qualified_name()?;
        let action = if self.eat_kw("add") {
            let if_not_exists = self.if_not_exists()?;
            let field = self.ident()?;
            AlterTypeAction::Add {
                if_not_exists,
                field,
                ty: self.cql_type()?,
            }
        } else if self.eat_kw("rename") {
            let if_exists = self.if_exists()?;
            AlterTypeAction::Rename {
                if_exists,
                renames: self.renames()?,
            }
        } else if self.eat_kw("alter") {
            let field = self.ident()?;
            self.expect_kw("type")?;
            AlterTypeAction::AlterFieldType {
                field,
                ty: self.cql_type()?,
            }
        } else {
            return Err(self.no_viable());
        };
        Ok(AlterType {
            if_exists,
            name,
            action,
        })
    }

    fn drop(&mut self, start: usize) -> PResult<Statement> {
        self.expect_kw("drop")?;
        if self.kind() != TokenKind::Word {
            return Err(self.no_viable());
        }
        let word = self.peek().value.clone();
        let simple = |p: &mut Self| -> PResult<DropStatement> {
            let if_exists = p.if_exists()?;
            let name = p.qualified_name()?;
            Ok(DropStatement { if_exists, name })
        };
        match word.as_str() {
            "keyspace" | "schema" => {
                self.bump();
                let if_exists = self.if_exists()?;
                let name = QualifiedName::new(self.ident()?);
                Ok(Statement::DropKeyspace(DropStatement { if_exists, name }))
            }
            "table" | "columnfamily" => {
                self.bump();
                simple(self).map(Statement::DropTable)
            }
            "index" => {
                self.bump();
                simple(self).map(Statement::DropIndex)
            }
            "type" => {
                self.bump();
                simple(self).map(Statement::DropType)
            }
            "materialized" => {
                self.bump();
                self.expect_kw("view")?;
                simple(self).map(Statement::DropMaterializedView)
            }
            "role" | "user" => {
                self.bump();
                let if_exists = self.if_exists()?;
                let name = QualifiedName::new(self.role_name()?);
                let d = DropStatement { if_exists, name };
                Ok(if word == "role" {
                    Statement::DropRole(d)
                } else {
                    Statement::DropUser(d)
                })
            }
            "function" => self.unsupported(start, "DROP FUNCTION"),
            "aggregate" => self.unsupported(start, "DROP AGGREGATE"),
            "trigger" => self.unsupported(start, "DROP TRIGGER"),
            _ => Err(self.no_viable()),
        }
    }

    /// A role or user name: identifier, quoted name or string.
    fn role_name(&mut self) -> PResult<String> {
        if self.kind() == TokenKind::Str {
            return Ok(self.bump().value.clone());
        }
        self.ident()
    }

    fn string_value(&mut self) -> PResult<String> {
        Ok(self.expect(TokenKind::Str)?.value.clone())
    }

    fn bool_value(&mut self) -> PResult<bool> {
        let t = self.expect(TokenKind::Boolean)?;
        Ok(t.text.eq_ignore_ascii_case("true"))
    }

    /// `opt [AND opt]*` after `WITH` in role statements.
    fn role_options(&mut self) -> PResult<Vec<RoleOption>> {
        let mut out = Vec::new();
        loop {
            let opt = if self.eat_kw("password") {
                self.expect(TokenKind::Eq)?;
                RoleOption::Password(self.string_value()?)
            } else if self.eat_kw("hashed") {
                self.expect_kw("password")?;
                self.expect(TokenKind::Eq)?;
                RoleOption::HashedPassword(self.string_value()?)
            } else if self.eat_kw("login") {
                self.expect(TokenKind::Eq)?;
                RoleOption::Login(self.bool_value()?)
            } else if self.eat_kw("superuser") {
                self.expect(TokenKind::Eq)?;
                RoleOption::Superuser(self.bool_value()?)
            } else if self.eat_kw("options") {
                self.expect(TokenKind::Eq)?;
                match self.term()? {
                    Term::Map(m) => RoleOption::Options(m),
                    Term::EmptyCollection => RoleOption::Options(Vec::new()),
                    _ => return Err(self.no_viable()),
                }
            } else if self.eat_kw("access") {
                self.expect_kw("to")?;
                if self.eat_kw("all") {
                    self.expect_kw("datacenters")?;
                    RoleOption::AccessToAllDatacenters
                } else {
                    self.expect_kw("datacenters")?;
                    self.expect(TokenKind::LBrace)?;
                    let mut dcs = Vec::new();
                    if !self.eat(TokenKind::RBrace) {
                        loop {
                            dcs.push(self.string_value()?);
                            if !self.eat(TokenKind::Comma) {
                                break;
                            }
                        }
                        self.expect(TokenKind::RBrace)?;
                    }
                    RoleOption::AccessToDatacenters(dcs)
                }
            } else {
                return Err(self.no_viable());
            };
            out.push(opt);
            if !self.eat_kw("and") {
                return Ok(out);
            }
        }
    }

    /// `[WITH [HASHED] PASSWORD 'p'] [SUPERUSER | NOSUPERUSER]`
    fn user_options(&mut self) -> PResult<(Option<RoleOption>, Option<bool>)> {
        let mut password = None;
        if self.eat_kw("with") {
            if self.eat_kw("hashed") {
                self.expect_kw("password")?;
                password = Some(RoleOption::HashedPassword(self.string_value()?));
            } else {
                self.expect_kw("password")?;
                password = Some(RoleOption::Password(self.string_value()?));
            }
        }
        let superuser = if self.eat_kw("superuser") {
            Some(true)
        } else if self.eat_kw("nosuperuser") {
            Some(false)
        } else {
            None
        };
        Ok((password, superuser))
    }

    fn permission_name(word: &str) -> Option<Permission> {
        Some(match word {
            "create" => Permission::Create,
            "alter" => Permission::Alter,
            "drop" => Permission::Drop,
            "select" => Permission::Select,
            "modify" => Permission::Modify,
            "authorize" => Permission::Authorize,
            "describe" => Permission::Describe,
            "execute" => Permission::Execute,
            "unmask" => Permission::Unmask,
            "select_masked" => Permission::SelectMasked,
            _ => return None,
        })
    }

    /// Does a permission (rather than a role name) start here?
    fn at_permission(&self) -> bool {
        let t = self.peek();
        if t.kind != TokenKind::Word {
            return false;
        }
        if t.value == "all" {
            return self.is_kw_at(1, "permissions") || self.is_kw_at(1, "on");
        }
        Self::permission_name(&t.value).is_some()
    }

    /// `ALL [PERMISSIONS]` (None) or `perm [PERMISSION]`.
    fn permission_or_all(&mut self) -> PResult<Option<Permission>> {
        if self.eat_kw("all") {
            self.eat_kw("permissions");
            return Ok(None);
        }
        let Some(p) =
            Self::permission_name(&self.peek().value).filter(|_| self.kind() == TokenKind::Word)
        else {
            return Err(self.no_viable());
        };
        self.bump();
        self.eat_kw("permission");
        Ok(Some(p))
    }

    fn resource(&mut self) -> PResult<Resource> {
        if self.eat_kw("all") {
            if self.eat_kw("keyspaces") {
                return Ok(Resource::AllKeyspaces);
            }
            if self.eat_kw("roles") {
                return Ok(Resource::AllRoles);
            }
            if self.eat_kw("mbeans") {
                return Ok(Resource::AllMbeans);
            }
            if self.eat_kw("functions") {
                if self.eat_kw("in") {
                    self.expect_kw("keyspace")?;
                    return Ok(Resource::AllFunctions(Some(self.ident()?)));
                }
                return Ok(Resource::AllFunctions(None));
            }
            return Err(self.no_viable());
        }
        if self.eat_kw("keyspace") {
            return Ok(Resource::Keyspace(self.ident()?));
        }
        if self.eat_kw("table") {
            return Ok(Resource::Table(self.qualified_name()?));
        }
        if self.is_kw("role") && !self.at_statement_end_at(1) && !self.is_kw_at(1, "to") {
            self.bump();
            return Ok(Resource::Role(self.role_name()?));
        }
        if self.is_kw("function") && self.ident_at(1) {
            self.bump();
            let name = self.qualified_name()?;
            self.expect(TokenKind::LParen)?;
            let mut types = Vec::new();
            if !self.eat(TokenKind::RParen) {
                loop {
                    types.push(self.cql_type()?);
                    if !self.eat(TokenKind::Comma) {
                        break;
                    }
                }
                self.expect(TokenKind::RParen)?;
            }
            return Ok(Resource::Function(name, types));
        }
        if (self.is_kw("mbean") || self.is_kw("mbeans")) && self.kind_at(1) == TokenKind::Str {
            self.bump();
            return Ok(Resource::Mbean(self.string_value()?));
        }
        Ok(Resource::Table(self.qualified_name()?))
    }

    fn at_statement_end_at(&self, n: usize) -> bool {
        matches!(self.kind_at(n), TokenKind::Eof | TokenKind::Semicolon)
    }

    fn grant(&mut self) -> PResult<Statement> {
        self.expect_kw("grant")?;
        if self.at_permission() {
            let permission = self.permission_or_all()?;
            self.expect_kw("on")?;
            let resource = self.resource()?;
            self.expect_kw("to")?;
            let role = self.role_name()?;
            return Ok(Statement::GrantPermission(PermissionChange {
                permission,
                resource,
                role,
            }));
        }
        let role = self.role_name()?;
        self.expect_kw("to")?;
        let grantee = self.role_name()?;
        Ok(Statement::GrantRole { role, grantee })
    }

    fn revoke(&mut self) -> PResult<Statement> {
        self.expect_kw("revoke")?;
        if self.at_permission() {
            let permission = self.permission_or_all()?;
            self.expect_kw("on")?;
            let resource = self.resource()?;
            self.expect_kw("from")?;
            let role = self.role_name()?;
            return Ok(Statement::RevokePermission(PermissionChange {
                permission,
                resource,
                role,
            }));
        }
        let role = self.role_name()?;
        self.expect_kw("from")?;
        let revokee = self.role_name()?;
        Ok(Statement::RevokeRole { role, revokee })
    }

    /// `[OF role] [NORECURSIVE]`
    fn of_role(&mut self) -> PResult<(Option<String>, bool)> {
        let of = if self.eat_kw("of") {
            Some(self.role_name()?)
        } else {
            None
        };
        let recursive = !self.eat_kw("norecursive");
        Ok((of, recursive))
    }

    fn list(&mut self) -> PResult<Statement> {
        self.expect_kw("list")?;
        if self.eat_kw("roles") {
            let (of, recursive) = self.of_role()?;
            return Ok(Statement::ListRoles { of, recursive });
        }
        if self.eat_kw("users") {
            return Ok(Statement::ListUsers);
        }
        if !self.at_permission() && !self.is_kw("all") {
            return Err(self.no_viable());
        }
        let permission = self.permission_or_all()?;
        let resource = if self.eat_kw("on") {
            Some(self.resource()?)
        } else {
            None
        };
        let (of, recursive) = self.of_role()?;
        Ok(Statement::ListPermissions {
            permission,
            resource,
            of,
            recursive,
        })
    }

    fn describe(&mut self) -> PResult<DescribeStatement> {
        self.bump(); // DESCRIBE | DESC
        let t = self.peek();
        let word = if t.kind == TokenKind::Word {
            t.value.clone()
        } else {
            String::new()
        };
        let named_follows = self.ident_at(1);
        let target = match word.as_str() {
            "full" => {
                self.bump();
                self.expect_kw("schema")?;
                DescribeTarget::Schema { full: true }
            }
            "schema" => {
                self.bump();
                DescribeTarget::Schema { full: false }
            }
            "cluster" if !named_follows => self.simple_target(DescribeTarget::Cluster),
            "keyspaces" if !named_follows => self.simple_target(DescribeTarget::Keyspaces),
            "tables" if !named_follows => self.simple_target(DescribeTarget::Tables),
            "types" if !named_follows => self.simple_target(DescribeTarget::Types),
            "functions" if !named_follows => self.simple_target(DescribeTarget::Functions),
            "aggregates" if !named_follows => self.simple_target(DescribeTarget::Aggregates),
            "only" => {
                self.bump();
                self.expect_kw("keyspace")?;
                let name = if self.at_ident() {
                    Some(self.ident()?)
                } else {
                    None
                };
                DescribeTarget::Keyspace { only: true, name }
            }
            "keyspace" => {
                self.bump();
                let name = if self.at_ident() {
                    Some(self.ident()?)
                } else {
                    None
                };
                DescribeTarget::Keyspace { only: false, name }
            }
            "table" | "columnfamily" => {
                self.bump();
                DescribeTarget::Table(self.qualified_name()?)
            }
            "index" => {
                self.bump();
                DescribeTarget::Index(self.qualified_name()?)
            }
            "materialized" => {
                self.bump();
                self.expect_kw("view")?;
                DescribeTarget::MaterializedView(self.qualified_name()?)
            }
            "type" if named_follows => {
                self.bump();
                DescribeTarget::Type(self.qualified_name()?)
            }
            "function" if named_follows => {
                self.bump();
                DescribeTarget::Function(self.qualified_name()?)
            }
            "aggregate" if named_follows => {
                self.bump();
                DescribeTarget::Aggregate(self.qualified_name()?)
            }
            _ => DescribeTarget::Generic(self.qualified_name()?),
        };
        let with_internals = if self.eat_kw("with") {
            self.expect_kw("internals")?;
            true
        } else {
            false
        };
        Ok(DescribeStatement {
            target,
            with_internals,
        })
    }

    fn simple_target(&mut self, t: DescribeTarget) -> DescribeTarget {
        self.bump();
        t
    }
}
