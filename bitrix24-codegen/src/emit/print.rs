//! Prints the emitted token streams as readable Rust: one item, field, statement or attribute
//! per line, four-space indents, `///` doc comments, and long lists one element per line.
//!
//! The build script of every user's `bitrix24` runs this, so it is a single pass over the
//! tokens instead of parsing them into a syntax tree and pretty-printing that (which took a
//! full `syn` parse and a formatter crate in each clean build). rustc checks what it prints.

use proc_macro2::{Delimiter, Group, Literal, Spacing, TokenStream, TokenTree};

/// A line longer than this (after its indent) is broken at its top-level commas.
const WIDTH: usize = 96;

/// Keywords after which an opening parenthesis or bracket is spaced (`match (a, b)`).
const SPACED_KEYWORDS: &[&str] = &[
    "as", "dyn", "else", "for", "if", "impl", "in", "let", "match", "move", "mut", "return",
    "static", "where", "while",
];

/// Rust's operators of more than one character, and the prefixes they are built from.
const OPERATORS: &[&str] = &[
    "::", "->", "=>", "==", "!=", "<=", ">=", "&&", "||", "..", "..=", "...", "+=", "-=", "*=",
    "/=", "%=", "^=", "&=", "|=", "<<", ">>", "<<=", ">>=",
];

/// The whole file: `tokens` printed at the top level, ending in a newline.
pub(crate) fn print_file(tokens: &TokenStream) -> String {
    let mut out = String::new();
    for line in block_lines(&units(tokens)) {
        if !line.is_empty() {
            out.push_str(&line);
        }
        out.push('\n');
    }
    out
}

/// One printable piece: a leaf token or operator, or a group already printed.
#[derive(Debug, Clone)]
enum Unit {
    /// An identifier or a literal.
    Word(String),
    /// A punctuation operator, its joint characters together (`::`, `->`, `=>`).
    Op(String),
    /// `#[...]` (or `#![...]`) as its lines: `///` comments for docs.
    Attr(Vec<String>),
    /// A delimited group: its delimiter, its printed lines (one line when it fits), and
    /// whether it stands on lines of its own even with one line (a block, a function body).
    Group(Delimiter, Vec<String>, bool),
}

fn units(tokens: &TokenStream) -> Vec<Unit> {
    let trees: Vec<TokenTree> = tokens.clone().into_iter().collect();
    let mut out = Vec::with_capacity(trees.len());
    let mut i = 0;
    while i < trees.len() {
        match &trees[i] {
            TokenTree::Ident(id) => out.push(Unit::Word(id.to_string())),
            TokenTree::Literal(l) => out.push(Unit::Word(l.to_string())),
            TokenTree::Group(g) => out.push(group(g)),
            TokenTree::Punct(p) if p.as_char() == '#' => {
                let inner =
                    matches!(trees.get(i + 1), Some(TokenTree::Punct(b)) if b.as_char() == '!');
                let at = i + 1 + usize::from(inner);
                if let Some(TokenTree::Group(g)) = trees.get(at)
                    && g.delimiter() == Delimiter::Bracket
                {
                    out.push(Unit::Attr(attribute(inner, g)));
                    i = at + 1;
                    continue;
                }
                out.push(Unit::Op("#".into()));
            }
            TokenTree::Punct(p) => {
                // Joint only says the next character is punctuation too (`>,` in `<u64>,`):
                // characters join while they still make one of Rust's operators.
                let mut op = String::from(p.as_char());
                let mut spacing = p.spacing();
                while spacing == Spacing::Joint {
                    let Some(TokenTree::Punct(next)) = trees.get(i + 1) else {
                        break;
                    };
                    let longer = format!("{op}{}", next.as_char());
                    if !OPERATORS.contains(&longer.as_str()) {
                        break;
                    }
                    op = longer;
                    spacing = next.spacing();
                    i += 1;
                }
                out.push(Unit::Op(op));
            }
        }
        i += 1;
    }
    out
}

/// `#[doc = "text"]` as `///` lines (one per line of the text); any other attribute as is.
fn attribute(inner: bool, g: &Group) -> Vec<String> {
    let parts: Vec<TokenTree> = g.stream().into_iter().collect();
    if let [
        TokenTree::Ident(name),
        TokenTree::Punct(eq),
        TokenTree::Literal(text),
    ] = &parts[..]
        && name == "doc"
        && eq.as_char() == '='
        && let Some(text) = unescape(text)
    {
        let prefix = if inner { "//!" } else { "///" };
        let lines: Vec<String> = text.split('\n').map(|l| format!("{prefix}{l}")).collect();
        // `////` is a plain comment, and a carriage return would end the comment early.
        if !text
            .split('\n')
            .any(|l| l.starts_with('/') || l.contains('\r'))
        {
            return lines;
        }
    }
    let bang = if inner { "!" } else { "" };
    vec![format!("#{bang}[{}]", flat(&units(&g.stream())))]
}

/// The text of a string literal (`"..."`, `r"..."`, `r#"..."#`), or `None` for anything else.
fn unescape(lit: &Literal) -> Option<String> {
    let src = lit.to_string();
    if let Some(raw) = src.strip_prefix('r') {
        let hashes = raw.len() - raw.trim_start_matches('#').len();
        let fence = "#".repeat(hashes);
        return raw
            .strip_prefix(&format!("{fence}\""))?
            .strip_suffix(&format!("\"{fence}"))
            .map(str::to_owned);
    }
    let body = src.strip_prefix('"')?.strip_suffix('"')?;
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next()? {
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            '0' => out.push('\0'),
            c @ ('\\' | '"' | '\'') => out.push(c),
            'u' => {
                let hex: String = chars.by_ref().skip(1).take_while(|&c| c != '}').collect();
                out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
            }
            _ => return None,
        }
    }
    Some(out)
}

fn group(g: &Group) -> Unit {
    let inner = units(&g.stream());
    let delim = g.delimiter();
    let block = delim == Delimiter::Brace && is_block(&inner);
    let lines = if inner.is_empty() {
        Vec::new()
    } else if block {
        block_lines(&inner)
    } else {
        let one = flat(&inner);
        if (one.len() > WIDTH || one.contains('\n')) && has_top_comma(&inner) {
            list_lines(&inner)
        } else {
            vec![one]
        }
    };
    Unit::Group(delim, lines, block)
}

/// Whether a brace group holds items or statements (printed one per line).
fn is_block(inner: &[Unit]) -> bool {
    inner.iter().any(|u| match u {
        Unit::Op(o) => o == ";" || o == "=>",
        Unit::Attr(_) | Unit::Group(Delimiter::Brace, ..) => true,
        Unit::Group(_, lines, _) => lines.len() > 1,
        Unit::Word(_) => false,
    })
}

fn has_top_comma(inner: &[Unit]) -> bool {
    top_commas(inner).next().is_some()
}

/// The indexes of the commas outside angle brackets (`BTreeMap<String, Value>` is one type).
fn top_commas(inner: &[Unit]) -> impl Iterator<Item = usize> + '_ {
    let mut depth = 0usize;
    inner.iter().enumerate().filter_map(move |(i, u)| {
        if let Unit::Op(o) = u {
            match o.as_str() {
                "<" => depth += 1,
                ">" => depth = depth.saturating_sub(1),
                ">>" => depth = depth.saturating_sub(2),
                ";" => depth = 0,
                "," if depth == 0 => return Some(i),
                _ => {}
            }
        }
        None
    })
}

/// A group's contents on one line (nested multi-line groups keep their line breaks).
fn flat(inner: &[Unit]) -> String {
    let mut out = String::new();
    let mut prev: Option<&Unit> = None;
    for u in inner {
        if prev.is_some_and(|p| spaced(p, u)) {
            out.push(' ');
        }
        push_unit(&mut out, u);
        prev = Some(u);
    }
    out
}

/// The lines of a list: one element (up to and with its comma) per line.
fn list_lines(inner: &[Unit]) -> Vec<String> {
    let mut lines = Vec::new();
    let mut start = 0;
    for comma in top_commas(inner) {
        lines.push(flat(&inner[start..=comma]));
        start = comma + 1;
    }
    if start < inner.len() {
        lines.push(flat(&inner[start..]));
    }
    lines
}

/// The lines of a block: items and statements end at a top-level `;`, a `,` (fields, arms,
/// variants) or a closing brace; attributes stand on lines of their own.
fn block_lines(inner: &[Unit]) -> Vec<String> {
    let mut lines = Vec::new();
    let mut current: Vec<Unit> = Vec::new();
    let commas: Vec<usize> = top_commas(inner).collect();
    let flush = |current: &mut Vec<Unit>, lines: &mut Vec<String>| {
        if !current.is_empty() {
            lines.extend(flat(current).split('\n').map(str::to_owned));
            current.clear();
        }
    };
    for (i, u) in inner.iter().enumerate() {
        if let Unit::Attr(attr) = u {
            flush(&mut current, &mut lines);
            lines.extend(attr.iter().cloned());
            continue;
        }
        let mut u = u.clone();
        // A function's body is a block even when it is one expression.
        if let Unit::Group(Delimiter::Brace, _, block) = &mut u
            && current
                .iter()
                .any(|c| matches!(c, Unit::Word(w) if w == "fn"))
            && !current
                .iter()
                .any(|c| matches!(c, Unit::Group(Delimiter::Brace, ..)))
        {
            *block = true;
        }
        let ends = match &u {
            Unit::Op(o) if o == ";" => true,
            Unit::Op(o) if o == "," => commas.contains(&i),
            Unit::Group(Delimiter::Brace, ..) => !continues(inner.get(i + 1)),
            _ => false,
        };
        current.push(u);
        if ends {
            flush(&mut current, &mut lines);
        }
    }
    flush(&mut current, &mut lines);
    lines
}

/// Whether the unit after a closing brace continues the same line (`} else {`, `},`, `}?`).
fn continues(next: Option<&Unit>) -> bool {
    match next {
        Some(Unit::Op(o)) => matches!(o.as_str(), "," | ";" | "." | "?" | "=>" | ")"),
        Some(Unit::Word(w)) => w == "else",
        _ => false,
    }
}

fn push_unit(out: &mut String, u: &Unit) {
    match u {
        Unit::Word(w) | Unit::Op(w) => out.push_str(w),
        Unit::Attr(lines) => out.push_str(&lines.join("\n")),
        Unit::Group(delim, lines, block) => {
            let (open, close) = match delim {
                Delimiter::Parenthesis => ("(", ")"),
                Delimiter::Bracket => ("[", "]"),
                Delimiter::Brace => ("{", "}"),
                Delimiter::None => ("", ""),
            };
            out.push_str(open);
            match lines.as_slice() {
                [] => {}
                [one] if !block => {
                    if *delim == Delimiter::Brace {
                        out.push(' ');
                        out.push_str(one);
                        out.push(' ');
                    } else {
                        out.push_str(one);
                    }
                }
                many => {
                    for line in many {
                        out.push('\n');
                        if !line.is_empty() {
                            out.push_str("    ");
                            out.push_str(&line.replace('\n', "\n    "));
                        }
                    }
                    out.push('\n');
                }
            }
            out.push_str(close);
        }
    }
}

/// Whether a space goes between two units on one line.
fn spaced(prev: &Unit, next: &Unit) -> bool {
    let tight_after = |p: &Unit| matches!(p, Unit::Op(o) if matches!(o.as_str(), "::" | "." | ".." | "&" | "#" | "!" | "'" | "<" | "$"));
    match next {
        Unit::Op(o) => match o.as_str() {
            "," | ";" | "." | ".." | "?" | ":" | ">" | ">>" => false,
            // `a::b`, `Vec<T>::new`, `(::std::x` are tight; `-> ::std::x`, `, ::serde` spaced.
            "::" => match prev {
                Unit::Word(w) => SPACED_KEYWORDS.contains(&w.as_str()),
                Unit::Group(..) => false,
                Unit::Op(o) => !matches!(o.as_str(), "<" | "&" | "!" | "#" | "'"),
                Unit::Attr(_) => true,
            },
            "<" | "!" => !matches!(prev, Unit::Word(_)) && !tight_after(prev),
            "'" | "&" | "#" | "*" | "-" => !tight_after(prev) && !is_open(prev),
            _ => true,
        },
        Unit::Group(Delimiter::Brace, ..) => true,
        Unit::Group(..) => match prev {
            Unit::Word(w) => SPACED_KEYWORDS.contains(&w.as_str()),
            Unit::Op(o) => !matches!(
                o.as_str(),
                "!" | "<" | ">" | ">>" | "&" | "#" | "::" | "'" | "$"
            ),
            Unit::Group(..) | Unit::Attr(_) => false,
        },
        Unit::Word(_) | Unit::Attr(_) => !tight_after(prev),
    }
}

fn is_open(u: &Unit) -> bool {
    matches!(u, Unit::Op(o) if o == "(" || o == "[")
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use super::print_file;

    #[test]
    fn items_fields_and_docs_read_like_rustfmt() {
        // What the printer gives back for these tokens is the text they were read from: the
        // one-line `if` body and the one-expression function come out on lines of their own.
        let compact = "/// A deal (`crm.deal.*`).\n#[derive(Debug, Clone)] pub struct Deal<'a> { \
            #[serde(rename = \"ID\")] pub id: Option<u64>, pub title: &'a str, } \
            impl Deal<'_> { pub fn new() -> Self { Self::default() } \
            fn f(&self, x: Vec<Vec<u8>>) -> Result<(), ::std::io::Error> { \
            if x.is_empty() { return Ok(()); } else { let _ = format!(\"{}\", 1); } Ok(()) } }";
        let want = "\
/// A deal (`crm.deal.*`).
#[derive(Debug, Clone)]
pub struct Deal<'a> {
    #[serde(rename = \"ID\")]
    pub id: Option<u64>,
    pub title: &'a str,
}
impl Deal<'_> {
    pub fn new() -> Self {
        Self::default()
    }
    fn f(&self, x: Vec<Vec<u8>>) -> Result<(), ::std::io::Error> {
        if x.is_empty() {
            return Ok(());
        } else {
            let _ = format!(\"{}\", 1);
        }
        Ok(())
    }
}
";
        let tokens: proc_macro2::TokenStream = compact.parse().unwrap();
        assert_eq!(print_file(&tokens), want);
        // Printing is a fixed point: the printed text reads back to the same text.
        let again: proc_macro2::TokenStream = want.parse().unwrap();
        assert_eq!(print_file(&again), want);
    }

    #[test]
    fn long_lists_break_at_commas_and_odd_docs_stay_attributes() {
        let names: Vec<String> = (0..20).map(|i| format!("method.number.{i}")).collect();
        let slash = "/not a comment";
        let tokens = quote! {
            #[doc = #slash]
            pub static NAMES: &[&str] = &[#(#names),*];
        };
        let got = print_file(&tokens);
        assert!(got.starts_with("#[doc = \"/not a comment\"]\n"), "{got}");
        assert!(
            got.contains("&[\n    \"method.number.0\",\n    \"method.number.1\",\n"),
            "{got}"
        );
        assert!(got.contains("    \"method.number.19\"\n];\n"), "{got}");
    }

    #[test]
    fn a_long_list_of_multi_line_elements_is_one_element_per_line() {
        let rows: Vec<proc_macro2::TokenStream> = (0..2)
            .map(|i| {
                let name = format!("method.{i}");
                let params: Vec<proc_macro2::TokenStream> = (0..4)
                    .map(|j| {
                        let p = format!("parameter_number_{j}");
                        quote!(ParamInfo { name: #p, ty: "string", required: false })
                    })
                    .collect();
                quote!(MethodInfo { name: #name, params: &[#(#params),*], idempotent: true })
            })
            .collect();
        let got = print_file(&quote!(pub static METHODS: &[MethodInfo] = &[#(#rows),*];));
        assert!(
            got.starts_with(
                "pub static METHODS: &[MethodInfo] = &[\n    MethodInfo {\n        \
                 name: \"method.0\",\n        params: &[\n            ParamInfo { name: \
                 \"parameter_number_0\", ty: \"string\", required: false },\n"
            ),
            "{got}"
        );
        assert!(
            got.contains("        idempotent: true\n    },\n    MethodInfo {\n"),
            "{got}"
        );
        assert!(got.ends_with("    }\n];\n"), "{got}");
    }
}
