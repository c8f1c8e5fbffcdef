//! The REST 3.0 families the emulator serves, read once from `data/rest_v3.toml` (the file
//! says how a family is written there): their methods with the params `rest.documentation.openapi`
//! lists, and the field tables `*.field.list` / `*.field.get` describe.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// One param of a served method: name, OpenAPI type, required.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Param(pub String, pub String, pub bool);

/// One field of a family's object: name, type, filterable, sortable.
#[derive(Debug, Deserialize)]
pub(crate) struct Field(pub String, pub String, pub bool, pub bool);

/// One served method: its full name and its params.
#[derive(Debug)]
pub(crate) struct Served {
    /// The method name (`main.eventlog.get`).
    pub name: String,
    /// Its params, in the order the OpenAPI document lists them.
    pub params: Vec<Param>,
}

/// One REST 3.0 family: the methods under one prefix and the fields of its object.
#[derive(Debug)]
pub(crate) struct Family {
    /// What every method name starts with (`main.eventlog`).
    pub prefix: String,
    /// The scope a method needs, also its OpenAPI tag.
    pub scope: String,
    /// The DTO an unknown-field error names (`EventLogDto`).
    pub entity: String,
    /// The methods, `field.list` and `field.get` last when the family has fields.
    pub methods: Vec<Served>,
    /// The fields `*.field.list` describes, in its order.
    pub fields: Vec<Field>,
    /// The keys of a field description.
    pub described: Vec<String>,
    /// The first word of "`<wording>` field `name` is not specified".
    pub wording: String,
    /// The fields whose `title` and `description` are not their name and `null`.
    pub labels: BTreeMap<String, (String, String)>,
}

impl Family {
    /// Whether `f` is a field of the object (`select`).
    pub(crate) fn known(&self, f: &str) -> bool {
        self.fields.iter().any(|x| x.0 == f)
    }

    /// Whether `filter` may name `f`.
    pub(crate) fn filterable(&self, f: &str) -> bool {
        self.fields.iter().any(|x| x.0 == f && x.2)
    }

    /// Whether `order` may name `f`.
    pub(crate) fn sortable(&self, f: &str) -> bool {
        self.fields.iter().any(|x| x.0 == f && x.3)
    }
}

/// A method's params as the data file writes them: a set's name or the list.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Params {
    Set(String),
    List(Vec<Param>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMethod {
    name: String,
    params: Params,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFamily {
    prefix: String,
    scope: String,
    #[serde(default)]
    entity: String,
    methods: Vec<RawMethod>,
    #[serde(default)]
    fields: Vec<Field>,
    #[serde(default)]
    described: Option<Vec<String>>,
    #[serde(default)]
    wording: Option<String>,
    #[serde(default)]
    labels: BTreeMap<String, (String, String)>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    sets: BTreeMap<String, Vec<Param>>,
    family: Vec<RawFamily>,
}

/// The keys of a field description unless a family names others.
const DESCRIBED: &[&str] = &[
    "name",
    "type",
    "title",
    "description",
    "filterable",
    "sortable",
    "multiple",
];

/// The keys a family may name besides [`DESCRIBED`] (`validationRules` is an empty list,
/// `editable` false, the others `null`).
const MORE_DESCRIBED: &[&str] = &[
    "validationRules",
    "requiredGroups",
    "editable",
    "elementType",
];

/// Parses the data file: resolves the sets, adds `field.list` / `field.get` to the families
/// with fields, and checks that every method name is its family's prefix and a dot, once.
fn parse(text: &str) -> Result<Vec<Family>, String> {
    let raw: RawFile = toml::from_str(text).map_err(|e| e.to_string())?;
    let set = |name: &str| {
        raw.sets
            .get(name)
            .cloned()
            .ok_or_else(|| format!("no set {name}"))
    };
    let mut seen = Vec::new();
    let mut out = Vec::new();
    for f in raw.family {
        let mut methods = Vec::new();
        for m in f.methods {
            let params = match m.params {
                Params::Set(s) => set(&s)?,
                Params::List(l) => l,
            };
            methods.push(Served {
                name: m.name,
                params,
            });
        }
        if !f.fields.is_empty() {
            for (tail, s) in [("field.list", "field_list"), ("field.get", "field_get")] {
                let name = format!("{}.{tail}", f.prefix);
                methods.push(Served {
                    name,
                    params: set(s)?,
                });
            }
        }
        for m in &methods {
            let ours = m
                .name
                .strip_prefix(&f.prefix)
                .is_some_and(|t| t.starts_with('.'));
            if !ours || seen.contains(&m.name) {
                return Err(format!("family {}: method {}", f.prefix, m.name));
            }
            seen.push(m.name.clone());
        }
        let described = f
            .described
            .unwrap_or_else(|| DESCRIBED.iter().map(|k| (*k).to_owned()).collect());
        let allowed = |k: &str| DESCRIBED.contains(&k) || MORE_DESCRIBED.contains(&k);
        if let Some(k) = described.iter().find(|k| !allowed(k)) {
            return Err(format!("family {}: described {k}", f.prefix));
        }
        out.push(Family {
            prefix: f.prefix,
            scope: f.scope,
            entity: f.entity,
            methods,
            fields: f.fields,
            described,
            wording: f.wording.unwrap_or_else(|| "Required".to_owned()),
            labels: f.labels,
        });
    }
    Ok(out)
}

/// Every served family, in the data file's order.
pub(crate) fn families() -> &'static [Family] {
    static FAMILIES: OnceLock<Vec<Family>> = OnceLock::new();
    FAMILIES.get_or_init(|| {
        parse(include_str!("../data/rest_v3.toml"))
            .unwrap_or_else(|e| panic!("data/rest_v3.toml: {e}"))
    })
}

/// The family that serves `method`, with the method, when one does.
pub(crate) fn find(method: &str) -> Option<(&'static Family, &'static Served)> {
    families()
        .iter()
        .find_map(|f| f.methods.iter().find(|m| m.name == method).map(|m| (f, m)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn family(prefix: &str) -> &'static Family {
        families().iter().find(|f| f.prefix == prefix).unwrap()
    }

    #[test]
    fn the_data_file_parses_and_adds_the_field_methods() {
        let f = family("main.eventlog");
        let names: Vec<&str> = f.methods.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "main.eventlog.get",
                "main.eventlog.list",
                "main.eventlog.tail",
                "main.eventlog.field.list",
                "main.eventlog.field.get"
            ]
        );
        assert!(f.filterable("userId") && !f.filterable("severity"));
        assert!(
            find("humanresources.node.communication.list")
                .is_some_and(|(f, _)| f.fields.is_empty())
        );
    }

    #[test]
    fn a_method_outside_its_prefix_or_an_unknown_set_is_refused() {
        let head = "[sets]\nid = [[\"id\", \"integer\", true]]\n[[family]]\nprefix = \"a.b\"\nscope = \"a\"\n";
        let bad = format!("{head}methods = [{{ name = \"c.b.get\", params = \"id\" }}]\n");
        assert!(parse(&bad).unwrap_err().contains("c.b.get"));
        let bad = format!("{head}methods = [{{ name = \"a.b.get\", params = \"nope\" }}]\n");
        assert!(parse(&bad).unwrap_err().contains("no set nope"));
        let twice = format!(
            "{head}methods = [{{ name = \"a.b.get\", params = \"id\" }}, {{ name = \"a.b.get\", params = [] }}]\n"
        );
        assert!(parse(&twice).is_err());
    }
}
