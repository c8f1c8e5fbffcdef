//! The field metadata `crm.<entity>.fields` answers for the legacy CRM families, read once from
//! `data/field_meta.toml` (the docs' example answers, table by table; the file says how a field
//! is written there).

use crate::entity::{Described, FieldDefault, FieldSpec, FieldType};
use serde::Deserialize;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// The documented metadata of one field.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Meta {
    /// UPPER field name.
    pub name: String,
    /// The `type` `*.fields` answers (`user`, `crm_company`, `crm_status`, ...).
    #[serde(rename = "type")]
    pub ty: String,
    /// The human `title` (`""`: the field keeps its own).
    #[serde(default)]
    pub title: String,
    /// The flags: `Q`/`q` required, `R` read-only, `I` immutable, `M` multiple, `D` deprecated.
    #[serde(default)]
    pub flags: String,
    /// `settings.parentEntityTypeId` of a link to another CRM object, 0 when none.
    #[serde(default)]
    pub parent: u32,
    /// The `statusType` of a `crm_status` field, `""` for other types.
    #[serde(default)]
    pub status: String,
    /// The whole `settings` object, when it says more than [`Meta::parent`].
    #[serde(default)]
    pub settings: Option<toml::Value>,
    /// The value an `add` sets when the field is not given.
    #[serde(default)]
    pub default: Option<toml::Value>,
}

/// What `crm.item.*` answers for a legacy type besides the family's own fields (the data
/// file's `[item."<prefix>"]` tables).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ItemView {
    /// UPPER names of the family's fields `crm.item.*` rows lack.
    pub own_only: Vec<String>,
    /// Fields only `crm.item.*` carries.
    pub item_only: Vec<Meta>,
    /// camelCase keys a whole `crm.item.*` row answers `null`.
    pub disabled: Vec<String>,
    /// The multi-fields are answered as `fm` and one string per kind.
    pub comms: bool,
}

/// One string a `crm.item.*` row answers for its multi-fields (the data file's `kinds`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Kind {
    /// The row's key (`phoneWork`).
    pub key: String,
    /// The multi-field's `typeId` (`PHONE`).
    pub type_id: String,
    /// The item's `valueType`; `None`: the first item of any type.
    #[serde(default)]
    pub value_type: Option<String>,
    /// A row without such an item answers `null` (else `""`).
    #[serde(default)]
    pub null: bool,
}

/// The data file: the groups of fields, and the groups each family's table is made of.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Tables {
    kinds: Vec<Kind>,
    families: BTreeMap<String, Vec<String>>,
    groups: BTreeMap<String, Vec<Meta>>,
    #[serde(default)]
    item: BTreeMap<String, ItemView>,
}

impl Tables {
    /// Parses the data file and checks that every family names groups it has.
    fn parse(text: &str) -> Result<Self, String> {
        let t: Self = toml::from_str(text).map_err(|e| e.to_string())?;
        for (family, groups) in &t.families {
            if let Some(g) = groups.iter().find(|g| !t.groups.contains_key(*g)) {
                return Err(format!("family {family}: no group {g}"));
            }
        }
        Ok(t)
    }
}

fn tables() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(|| {
        Tables::parse(include_str!("../../data/field_meta.toml"))
            .unwrap_or_else(|e| panic!("data/field_meta.toml: {e}"))
    })
}

/// The documented fields of the family served under `prefix` (`crm.deal`), in table order;
/// none for a family the file does not describe.
pub(crate) fn of(prefix: &str) -> impl Iterator<Item = &'static Meta> {
    let t = tables();
    t.families
        .get(prefix)
        .into_iter()
        .flatten()
        .flat_map(|g| &t.groups[g])
}

/// What `crm.item.*` adds to the legacy family served under `prefix`, when it is one.
pub(crate) fn item_view(prefix: &str) -> Option<&'static ItemView> {
    tables().item.get(prefix)
}

/// The strings a `crm.item.*` row answers for its multi-fields, in the data file's order.
pub(crate) fn kinds() -> &'static [Kind] {
    &tables().kinds
}

impl Meta {
    /// Whether the flags hold `c`.
    fn has(&self, c: char) -> bool {
        self.flags.contains(c)
    }

    /// Gives a family field its documented title, `statusType` and description.
    pub(crate) fn apply(&self, f: &mut FieldSpec) {
        if !self.title.is_empty() {
            self.title.clone_into(&mut f.title);
        }
        if !self.status.is_empty() {
            f.status_type = Some(self.status.clone());
        }
        // A field the docs list as required is required on `add` (a company's `TITLE`); a
        // contact's three names (`q`) are listed so but the docs do not say which one suffices.
        f.required |= self.has('Q');
        f.described = Some(Described {
            ty: self.ty.clone(),
            required: self.has('Q') || self.has('q'),
            read_only: self.has('R'),
            immutable: self.has('I'),
            multiple: self.has('M'),
            deprecated: self.has('D'),
            settings: match &self.settings {
                Some(v) => serde_json::to_value(v).ok(),
                None => (self.parent != 0).then(|| json!({"parentEntityTypeId": self.parent})),
            },
        });
    }

    /// A documented field the spec's entity lacks, stored by its documented type.
    pub(crate) fn new_field(&self) -> FieldSpec {
        let ty = match self.ty.as_str() {
            "integer" | "user" | "crm_company" | "crm_contact" | "crm_lead" | "crm_quote"
            | "crm_category" => FieldType::Int,
            "double" => FieldType::Float,
            "char" => FieldType::Char,
            "date" => FieldType::Date,
            "datetime" => FieldType::DateTime,
            "crm_multifield" | "file" => FieldType::Json,
            _ => FieldType::String,
        };
        let mut f = FieldSpec::new(&self.name, ty);
        f.multiple = self.has('M');
        if let Some(v) = self
            .default
            .as_ref()
            .and_then(|v| serde_json::to_value(v).ok())
        {
            f = f.default(FieldDefault::Value(v));
        }
        if self.ty == "crm_multifield" {
            f.multi()
        } else {
            f
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_data_file_reads_and_every_family_has_fields() {
        for prefix in ["crm.deal", "crm.lead", "crm.contact", "crm.company"] {
            assert!(of(prefix).count() > 40, "{prefix}");
        }
        assert_eq!(of("crm.quote").count(), 0);
        let lead = item_view("crm.lead").expect("crm.item view of leads");
        assert!(lead.comms && lead.disabled.iter().any(|k| k == "isConvert"));
    }

    #[test]
    fn a_family_naming_a_missing_group_is_an_error() {
        let e = Tables::parse("kinds = []\n[families]\n\"crm.deal\" = [\"nope\"]\n[groups]\n")
            .unwrap_err();
        assert_eq!(e, "family crm.deal: no group nope");
        assert!(
            Tables::parse("kinds = []\n[families]\n[groups]\nx = [{ name = \"A\" }]\n").is_err()
        );
    }
}
