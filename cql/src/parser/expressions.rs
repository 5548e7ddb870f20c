//! Grammar pieces shared by statements: names, terms, types, selectors,
//! relations, conditions and `WITH` properties.
//!
//! **What.** Recursive-descent functions on [`Parser`], one per grammar rule
//! of Cassandra's `Parser.g` that more than one statement uses:
//!
//! * `qualified_name`: `[ks '.'] name`;
//! * `term`: constants, `?`/`:name`, `[..]`, `{..}` (set, map, UDT, empty),
//!   tuples, `(type) term` hints and function calls;
//! * `cql_type`: native types, collections, `frozen`, `tuple`, `vector`,
//!   user types and `'custom'` classes;
//! * `selector`: what SELECT returns, with `AS`, `COUNT(*)`, `WRITETIME`,
//!   `TTL`, `CAST`, field access and element/slice access;
//! * `relation`: WHERE atoms, single-column, element, token and
//!   multi-column forms; `condition`: IF atoms;
//! * `properties`: `name = value AND …` including `CLUSTERING ORDER BY`.
//!
//! **Why hand-written.** ANTLR's error vocabulary depends on where choices
//! happen; a hand-written parser lets each choice point raise `no viable
//! alternative` and each required token raise `mismatched input`, which is
//! what keeps our messages aligned with Cassandra's.
//!
//! **What not.** No arithmetic operators in terms (Cassandra 4 accepts
//! `1 + 2` in some positions) and no `BETWEEN`: neither is used by drivers.
//! Every recursive rule goes through `Parser::nested`, bounding depth.

use super::ast::*;
use super::cursor::{PResult, Parser};
use super::lexer::TokenKind;

impl Parser<'_> {
    /// `[ks '.'] name`
    pub(crate) fn qualified_name(&mut self) -> PResult<QualifiedName> {
        let first = self.ident()?;
        if self.kind() == TokenKind::Dot {
            self.bump();
            let name = self.ident()?;
            Ok(QualifiedName::qualified(first, name))
        } else {
            Ok(QualifiedName::new(first))
        }
    }

    /// An integer constant or a bind marker (LIMIT, TTL, TIMESTAMP, …).
    pub(crate) fn int_value(&mut self) -> PResult<Term> {
        match self.kind() {
            TokenKind::Integer => {
                let t = self.bump();
                Ok(Term::Constant(Constant {
                    kind: ConstantKind::Integer,
                    text: t.text.clone(),
                }))
            }
            TokenKind::QMark | TokenKind::Colon => self.bind_marker().map(Term::Bind),
            _ => Err(self.no_viable()),
        }
    }

    /// `?` or `:name`
    pub(crate) fn bind_marker(&mut self) -> PResult<BindMarker> {
        if self.eat(TokenKind::QMark) {
            return Ok(self.new_marker(None));
        }
        self.expect(TokenKind::Colon)?;
        let name = self.ident()?;
        Ok(self.new_marker(Some(name)))
    }

    /// Is the current token the start of a constant?
    fn constant_kind(&self) -> Option<ConstantKind> {
        let t = self.peek();
        Some(match t.kind {
            TokenKind::Str => ConstantKind::String,
            TokenKind::Integer => ConstantKind::Integer,
            TokenKind::Float => ConstantKind::Float,
            TokenKind::Boolean => ConstantKind::Boolean,
            TokenKind::Uuid => ConstantKind::Uuid,
            TokenKind::Hex => ConstantKind::Hex,
            TokenKind::Duration => ConstantKind::Duration,
            TokenKind::Word if t.value == "null" => ConstantKind::Null,
            TokenKind::Word if t.value == "nan" => ConstantKind::NaN,
            TokenKind::Word if t.value == "infinity" => ConstantKind::Infinity,
            TokenKind::Minus if self.is_kw_at(1, "nan") => ConstantKind::NaN,
            TokenKind::Minus if self.is_kw_at(1, "infinity") => ConstantKind::Infinity,
            _ => return None,
        })
    }

    /// A literal constant, if one starts here.
    pub(crate) fn constant(&mut self) -> Option<Constant> {
        let kind = self.constant_kind()?;
        let t = self.bump();
        let text = if t.kind == TokenKind::Minus {
            format!("-{}", self.bump().text)
        } else if t.kind == TokenKind::Str {
            t.value.clone()
        } else {
            t.text.clone()
        };
        Some(Constant { kind, text })
    }

    /// Any term.
    pub(crate) fn term(&mut self) -> PResult<Term> {
        self.nested(|p| p.term_inner())
    }

    fn term_inner(&mut self) -> PResult<Term> {
        if let Some(c) = self.constant() {
            return Ok(Term::Constant(c));
        }
        match self.kind() {
            TokenKind::QMark | TokenKind::Colon => Ok(Term::Bind(self.bind_marker()?)),
            TokenKind::LBracket => {
                self.bump();
                let items = self.term_list_until(TokenKind::RBracket)?;
                Ok(Term::List(items))
            }
            TokenKind::LBrace => self.brace_literal(),
            TokenKind::LParen => self.paren_term(),
            TokenKind::Word | TokenKind::QuotedName if self.is_function_call_start() => {
                let name = self.function_name()?;
                self.expect(TokenKind::LParen)?;
                let args = self.term_list_until(TokenKind::RParen)?;
                Ok(Term::FunctionCall { name, args })
            }
            _ => Err(self.no_viable()),
        }
    }

    /// Terms separated by commas up to `close` (consumed); may be empty.
    pub(crate) fn term_list_until(&mut self, close: TokenKind) -> PResult<Vec<Term>> {
        let mut items = Vec::new();
        if self.eat(close) {
            return Ok(items);
        }
        loop {
            items.push(self.term()?);
            if self.eat(TokenKind::Comma) {
                continue;
            }
            self.expect(close)?;
            return Ok(items);
        }
    }

    /// `name(` or `ks.name(`, including the reserved `token`.
    pub(crate) fn is_function_call_start(&self) -> bool {
        let name_ok = self.at_ident() || self.is_kw("token");
        if !name_ok {
            return false;
        }
        match self.kind_at(1) {
            TokenKind::LParen => true,
            TokenKind::Dot => self.ident_at(2) && self.kind_at(3) == TokenKind::LParen,
            _ => false,
        }
    }

    /// A function name, maybe keyspace-qualified; `token` allowed.
    pub(crate) fn function_name(&mut self) -> PResult<QualifiedName> {
        if self.is_kw("token") {
            self.bump();
            return Ok(QualifiedName::new("token"));
        }
        self.qualified_name()
    }

    /// `{}`, `{a, b}`, `{k: v}`, `{field: v}`.
    fn brace_literal(&mut self) -> PResult<Term> {
        self.expect(TokenKind::LBrace)?;
        if self.eat(TokenKind::RBrace) {
            return Ok(Term::EmptyCollection);
        }
        // A UDT literal starts with `identifier :`; map keys are never bare
        // identifiers.
        if self.at_ident() && self.kind_at(1) == TokenKind::Colon {
            let mut fields = Vec::new();
            loop {
                let f = self.ident()?;
                self.expect(TokenKind::Colon)?;
                fields.push((f, self.term()?));
                if self.eat(TokenKind::Comma) {
                    continue;
                }
                self.expect(TokenKind::RBrace)?;
                return Ok(Term::Udt(fields));
            }
        }
        let first = self.term()?;
        if self.eat(TokenKind::Colon) {
            let mut entries = vec![(first, self.term()?)];
            while self.eat(TokenKind::Comma) {
                let k = self.term()?;
                self.expect(TokenKind::Colon)?;
                entries.push((k, self.term()?));
            }
            self.expect(TokenKind::RBrace)?;
            return Ok(Term::Map(entries));
        }
        let mut items = vec![first];
        while self.eat(TokenKind::Comma) {
            items.push(self.term()?);
        }
        self.expect(TokenKind::RBrace)?;
        Ok(Term::Set(items))
    }

    /// `(type) term` or `(a, b, …)`.
    fn paren_term(&mut self) -> PResult<Term> {
        self.expect(TokenKind::LParen)?;
        // Terms are never bare identifiers, so `(` followed by an identifier
        // that does not start a function call must be a type hint.
        if self.at_ident() && !self.is_function_call_start() {
            let ty = self.cql_type()?;
            self.expect(TokenKind::RParen)?;
            let term = self.term()?;
            return Ok(Term::Cast {
                ty,
                term: Box::new(term),
            });
        }
        if self.kind() == TokenKind::Str && self.kind_at(1) == TokenKind::RParen {
            // `('custom.Type') term` versus the one-tuple `('a')`: a hint
            // must be followed by a term.
            let term_follows = self.starts_term_at(2);
            if term_follows {
                let ty = CqlTypeExpr::Custom(self.bump().value.clone());
                self.expect(TokenKind::RParen)?;
                let term = self.term()?;
                return Ok(Term::Cast {
                    ty,
                    term: Box::new(term),
                });
            }
        }
        let items = self.term_list_until(TokenKind::RParen)?;
        Ok(Term::Tuple(items))
    }

    /// Can token `n` ahead start a term?
    fn starts_term_at(&self, n: usize) -> bool {
        let t = self.peek_at(n);
        match t.kind {
            TokenKind::Str
            | TokenKind::Integer
            | TokenKind::Float
            | TokenKind::Boolean
            | TokenKind::Uuid
            | TokenKind::Hex
            | TokenKind::Duration
            | TokenKind::QMark
            | TokenKind::LBracket
            | TokenKind::LBrace
            | TokenKind::LParen
            | TokenKind::Minus => true,
            TokenKind::Colon => self.ident_at(n + 1),
            TokenKind::Word => {
                matches!(t.value.as_str(), "null" | "nan" | "infinity")
                    || self.kind_at(n + 1) == TokenKind::LParen
            }
            _ => false,
        }
    }

    /// A CQL type.
    pub(crate) fn cql_type(&mut self) -> PResult<CqlTypeExpr> {
        self.nested(|p| p.cql_type_inner())
    }

    fn cql_type_inner(&mut self) -> PResult<CqlTypeExpr> {
        if self.kind() == TokenKind::Str {
            return Ok(CqlTypeExpr::Custom(self.bump().value.clone()));
        }
        if self.kind() == TokenKind::Word && self.kind_at(1) == TokenKind::Lt {
            let word = self.peek().value.clone();
            let ty = match word.as_str() {
                "list" | "set" | "frozen" => {
                    self.pos += 2;
                    let inner = Box::new(self.cql_type()?);
                    match word.as_str() {
                        "list" => CqlTypeExpr::List(inner),
                        "set" => CqlTypeExpr::Set(inner),
                        _ => CqlTypeExpr::Frozen(inner),
                    }
                }
                "map" => {
                    self.pos += 2;
                    let k = self.cql_type()?;
                    self.expect(TokenKind::Comma)?;
                    let v = self.cql_type()?;
                    CqlTypeExpr::Map(Box::new(k), Box::new(v))
                }
                "tuple" => {
                    self.pos += 2;
                    let mut items = vec![self.cql_type()?];
                    while self.eat(TokenKind::Comma) {
                        items.push(self.cql_type()?);
                    }
                    CqlTypeExpr::Tuple(items)
                }
                "vector" => {
                    self.pos += 2;
                    let elem = self.cql_type()?;
                    self.expect(TokenKind::Comma)?;
                    let dim = if self.kind() == TokenKind::Integer {
                        self.peek().text.parse::<u32>().ok()
                    } else {
                        None
                    };
                    let Some(dim) = dim else {
                        return Err(self.no_viable());
                    };
                    self.bump();
                    CqlTypeExpr::Vector(Box::new(elem), dim)
                }
                _ => return Err(self.no_viable()),
            };
            self.expect(TokenKind::Gt)?;
            return Ok(ty);
        }
        if self.kind() == TokenKind::Word && self.kind_at(1) != TokenKind::Dot {
            if let Some(n) = NativeType::from_name(&self.peek().value) {
                self.bump();
                return Ok(CqlTypeExpr::Native(n));
            }
        }
        if self.at_ident() {
            return Ok(CqlTypeExpr::UserDefined(self.qualified_name()?));
        }
        Err(self.no_viable())
    }

    /// `selector [, selector]*` or `*`.
    pub(crate) fn selection(&mut self) -> PResult<Selection> {
        if self.eat(TokenKind::Star) {
            return Ok(Selection::Star);
        }
        let mut out = vec![self.selector()?];
        while self.eat(TokenKind::Comma) {
            out.push(self.selector()?);
        }
        Ok(Selection::Selectors(out))
    }

    /// `selectable [AS alias]`
    fn selector(&mut self) -> PResult<Selector> {
        let selectable = self.selectable()?;
        let alias = if self.eat_kw("as") {
            Some(self.ident()?)
        } else {
            None
        };
        Ok(Selector { selectable, alias })
    }

    /// A selector expression without alias.
    pub(crate) fn selectable(&mut self) -> PResult<Selectable> {
        self.nested(|p| {
            let mut s = p.selectable_primary()?;
            loop {
                match p.kind() {
                    TokenKind::Dot => {
                        p.bump();
                        let field = p.ident()?;
                        s = Selectable::Field {
                            selectable: Box::new(s),
                            field,
                        };
                    }
                    TokenKind::LBracket => {
                        p.bump();
                        s = p.element_or_slice(s)?;
                    }
                    _ => return Ok(s),
                }
            }
        })
    }

    /// After `[`: `key]`, `from..to]`, `..to]`, `from..]`.
    fn element_or_slice(&mut self, s: Selectable) -> PResult<Selectable> {
        let from = if self.kind() == TokenKind::Range {
            None
        } else {
            Some(self.term()?)
        };
        if self.eat(TokenKind::Range) {
            let to = if self.kind() == TokenKind::RBracket {
                None
            } else {
                Some(self.term()?)
            };
            self.expect(TokenKind::RBracket)?;
            return Ok(Selectable::Slice {
                selectable: Box::new(s),
                from,
                to,
            });
        }
        self.expect(TokenKind::RBracket)?;
        match from {
            Some(key) => Ok(Selectable::Element {
                selectable: Box::new(s),
                key,
            }),
            None => Err(self.no_viable()),
        }
    }

    fn selectable_primary(&mut self) -> PResult<Selectable> {
        if self.kind() == TokenKind::Word && self.kind_at(1) == TokenKind::LParen {
            let word = self.peek().value.clone();
            match word.as_str() {
                "count" if self.kind_at(2) == TokenKind::Star => {
                    self.pos += 3;
                    self.expect(TokenKind::RParen)?;
                    return Ok(Selectable::CountStar);
                }
                "writetime" | "maxwritetime" | "ttl" => {
                    self.pos += 2;
                    let inner = Box::new(self.selectable()?);
                    self.expect(TokenKind::RParen)?;
                    return Ok(match word.as_str() {
                        "writetime" => Selectable::WriteTime(inner),
                        "maxwritetime" => Selectable::MaxWriteTime(inner),
                        _ => Selectable::Ttl(inner),
                    });
                }
                "cast" => {
                    self.pos += 2;
                    let inner = self.selectable()?;
                    self.expect_kw("as")?;
                    let ty = self.cql_type()?;
                    self.expect(TokenKind::RParen)?;
                    return Ok(Selectable::Cast {
                        selectable: Box::new(inner),
                        ty,
                    });
                }
                _ => {}
            }
        }
        if self.is_function_call_start() {
            let name = self.function_name()?;
            self.expect(TokenKind::LParen)?;
            let mut args = Vec::new();
            if !self.eat(TokenKind::RParen) {
                loop {
                    args.push(self.selectable()?);
                    if self.eat(TokenKind::Comma) {
                        continue;
                    }
                    self.expect(TokenKind::RParen)?;
                    break;
                }
            }
            return Ok(Selectable::FunctionCall { name, args });
        }
        if self.at_ident() {
            return Ok(Selectable::Column(self.ident()?));
        }
        Ok(Selectable::Term(self.term()?))
    }

    /// A comparison operator, if one is here.
    fn comparison_op(&mut self) -> Option<Operator> {
        let op = match self.kind() {
            TokenKind::Eq => Operator::Eq,
            TokenKind::Neq => Operator::Neq,
            TokenKind::Lt => Operator::Lt,
            TokenKind::Lte => Operator::Lte,
            TokenKind::Gt => Operator::Gt,
            TokenKind::Gte => Operator::Gte,
            _ => return None,
        };
        self.bump();
        Some(op)
    }

    /// `IN` values: `( … )` or a marker.
    fn in_values(&mut self) -> PResult<InValues> {
        match self.kind() {
            TokenKind::QMark | TokenKind::Colon => Ok(InValues::Marker(self.bind_marker()?)),
            TokenKind::LParen => {
                self.bump();
                Ok(InValues::List(self.term_list_until(TokenKind::RParen)?))
            }
            _ => Err(self.no_viable()),
        }
    }

    /// `relation [AND relation]*`
    pub(crate) fn where_clause(&mut self) -> PResult<Vec<Relation>> {
        let mut out = Vec::new();
        self.relation_into(&mut out)?;
        while self.eat_kw("and") {
            self.relation_into(&mut out)?;
        }
        Ok(out)
    }

    /// One relation, or a parenthesised group of them, appended to `out`.
    fn relation_into(&mut self, out: &mut Vec<Relation>) -> PResult<()> {
        self.nested(|p| {
            if p.kind() == TokenKind::LParen
                && !(p.at_ident_at(1)
                    && matches!(p.kind_at(2), TokenKind::Comma | TokenKind::RParen))
            {
                p.bump();
                p.relation_into(out)?;
                while p.eat_kw("and") {
                    p.relation_into(out)?;
                }
                p.expect(TokenKind::RParen)?;
                return Ok(());
            }
            out.push(p.relation()?);
            Ok(())
        })
    }

    fn at_ident_at(&self, n: usize) -> bool {
        self.ident_at(n)
    }

    fn relation(&mut self) -> PResult<Relation> {
        if self.is_kw("token") && self.kind_at(1) == TokenKind::LParen {
            self.pos += 2;
            let columns = self.ident_list()?;
            self.expect(TokenKind::RParen)?;
            let Some(op) = self.comparison_op() else {
                return Err(self.no_viable());
            };
            let value = self.term()?;
            return Ok(Relation::Token { columns, op, value });
        }
        if self.eat(TokenKind::LParen) {
            let columns = self.ident_list()?;
            self.expect(TokenKind::RParen)?;
            if self.eat_kw("in") {
                let values = self.in_values()?;
                return Ok(Relation::MultiColumnIn { columns, values });
            }
            let Some(op) = self.comparison_op() else {
                return Err(self.no_viable());
            };
            let value = match self.kind() {
                TokenKind::QMark | TokenKind::Colon => Term::Bind(self.bind_marker()?),
                TokenKind::LParen => self.term()?,
                _ => return Err(self.no_viable()),
            };
            return Ok(Relation::MultiColumn { columns, op, value });
        }
        let column = self.ident()?;
        if self.eat(TokenKind::LBracket) {
            let key = self.term()?;
            self.expect(TokenKind::RBracket)?;
            let Some(op) = self.comparison_op() else {
                return Err(self.no_viable());
            };
            let value = self.term()?;
            return Ok(Relation::Element {
                column,
                key,
                op,
                value,
            });
        }
        if let Some(op) = self.comparison_op() {
            let value = self.term()?;
            return Ok(Relation::Column { column, op, value });
        }
        if self.eat_kw("in") {
            let values = self.in_values()?;
            return Ok(Relation::In { column, values });
        }
        let op = if self.eat_kw("contains") {
            if self.eat_kw("key") {
                Operator::ContainsKey
            } else {
                Operator::Contains
            }
        } else if self.eat_kw("like") {
            Operator::Like
        } else if self.eat_kw("is") {
            self.expect_kw("not")?;
            self.expect_kw("null")?;
            return Ok(Relation::IsNotNull { column });
        } else {
            return Err(self.no_viable());
        };
        let value = self.term()?;
        Ok(Relation::Column { column, op, value })
    }

    /// `condition [AND condition]*` (after `IF`).
    pub(crate) fn conditions(&mut self) -> PResult<Vec<Condition>> {
        let mut out = vec![self.condition()?];
        while self.eat_kw("and") {
            out.push(self.condition()?);
        }
        Ok(out)
    }

    fn condition(&mut self) -> PResult<Condition> {
        let column = self.ident()?;
        let target = if self.eat(TokenKind::LBracket) {
            let key = self.term()?;
            self.expect(TokenKind::RBracket)?;
            ConditionTarget::Element(key)
        } else if self.eat(TokenKind::Dot) {
            ConditionTarget::Field(self.ident()?)
        } else {
            ConditionTarget::Column
        };
        let value = if let Some(op) = self.comparison_op() {
            ConditionValue::Compare(op, self.term()?)
        } else if self.eat_kw("in") {
            ConditionValue::In(self.in_values()?)
        } else if self.eat_kw("contains") {
            let op = if self.eat_kw("key") {
                Operator::ContainsKey
            } else {
                Operator::Contains
            };
            ConditionValue::Compare(op, self.term()?)
        } else {
            return Err(self.no_viable());
        };
        Ok(Condition {
            column,
            target,
            value,
        })
    }

    /// `USING TTL x AND TIMESTAMP y` (after `USING`).
    pub(crate) fn using_body(&mut self) -> PResult<Using> {
        let mut using = Using::default();
        loop {
            if self.eat_kw("ttl") {
                using.ttl = Some(self.int_value()?);
            } else if self.eat_kw("timestamp") {
                using.timestamp = Some(self.int_value()?);
            } else {
                return Err(self.no_viable());
            }
            if !self.eat_kw("and") {
                return Ok(using);
            }
        }
    }

    /// `name = value` (one property).
    pub(crate) fn property(&mut self) -> PResult<Property> {
        let name = self.ident()?;
        self.expect(TokenKind::Eq)?;
        let value = self.property_value()?;
        Ok(Property { name, value })
    }

    fn property_value(&mut self) -> PResult<PropertyValue> {
        if let Some(c) = self.constant() {
            return Ok(PropertyValue::Constant(c));
        }
        if self.kind() == TokenKind::LBrace {
            return match self.term()? {
                Term::Map(entries) => Ok(PropertyValue::Map(entries)),
                Term::EmptyCollection => Ok(PropertyValue::Map(Vec::new())),
                Term::Udt(fields) => Ok(PropertyValue::Map(
                    fields
                        .into_iter()
                        .map(|(k, v)| {
                            (
                                Term::Constant(Constant {
                                    kind: ConstantKind::String,
                                    text: k,
                                }),
                                v,
                            )
                        })
                        .collect(),
                )),
                _ => Err(self.error_here("no viable alternative at input '}'".into())),
            };
        }
        if self.at_ident() {
            return Ok(PropertyValue::Identifier(self.ident()?));
        }
        Err(self.no_viable())
    }

    /// Simple properties `p = v AND …` (keyspaces, indexes).
    pub(crate) fn simple_properties(&mut self) -> PResult<Vec<Property>> {
        let mut out = vec![self.property()?];
        while self.eat_kw("and") {
            out.push(self.property()?);
        }
        Ok(out)
    }

    /// Table options after `WITH`: properties, `CLUSTERING ORDER BY (…)`,
    /// `COMPACT STORAGE`, joined by `AND`.
    pub(crate) fn table_options(&mut self) -> PResult<TableOptions> {
        let mut opts = TableOptions::default();
        loop {
            if self.is_kw("clustering") && self.is_kw_at(1, "order") {
                self.pos += 2;
                self.expect_kw("by")?;
                self.expect(TokenKind::LParen)?;
                loop {
                    let col = self.ident()?;
                    let desc = if self.eat_kw("desc") {
                        true
                    } else {
                        self.eat_kw("asc");
                        false
                    };
                    opts.clustering_order.push((col, desc));
                    if !self.eat(TokenKind::Comma) {
                        break;
                    }
                }
                self.expect(TokenKind::RParen)?;
            } else if self.is_kw("compact") && self.is_kw_at(1, "storage") {
                self.pos += 2;
                opts.compact_storage = true;
            } else {
                opts.properties.push(self.property()?);
            }
            if !self.eat_kw("and") {
                return Ok(opts);
            }
        }
    }
}
