//! The `Serialize` of every generated request and entity: one generic writer over a list of
//! `(wire name, member)` pairs instead of a derived body per struct.
//!
//! A derived `Serialize` is a body per struct with a branch per field, generic in the
//! serializer; over a thousand structs that was the largest part of the crate's compile time.
//! The generated impl only lists its members; [`write`] is compiled once per serializer. Each
//! member goes through a `serde_json::Value` first (requests and entity writes are small), and
//! the output is the same as the derive's: members in declaration order, unset optional ones
//! left out, `Y`/`N` flags, then the entity's `extra` members as they are.

use serde::ser::{Error as _, SerializeMap};
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

/// One member of a generated struct, as it travels: `None` leaves it out.
pub(crate) trait Member {
    /// The value to send, or `None` when the member is unset.
    fn wire(&self) -> Result<Option<Value>, serde_json::Error>;
}

/// An optional member: left out when `None`.
impl<T: Serialize> Member for Option<T> {
    fn wire(&self) -> Result<Option<Value>, serde_json::Error> {
        self.as_ref().map(serde_json::to_value).transpose()
    }
}

/// A required member: always sent.
pub(crate) struct Always<'a, T>(pub(crate) &'a T);

impl<T: Serialize> Member for Always<'_, T> {
    fn wire(&self) -> Result<Option<Value>, serde_json::Error> {
        serde_json::to_value(self.0).map(Some)
    }
}

/// An optional flag sent as `"Y"`/`"N"` (left out when `None`).
pub(crate) struct YesNo<'a>(pub(crate) &'a Option<bool>);

impl Member for YesNo<'_> {
    fn wire(&self) -> Result<Option<Value>, serde_json::Error> {
        Ok(self.0.map(yes_no))
    }
}

/// A required flag sent as `"Y"`/`"N"`.
// Only the packs whose specs have a required flag use it.
#[allow(dead_code)]
pub(crate) struct YesNoRequired<'a>(pub(crate) &'a bool);

impl Member for YesNoRequired<'_> {
    fn wire(&self) -> Result<Option<Value>, serde_json::Error> {
        Ok(Some(yes_no(*self.0)))
    }
}

fn yes_no(value: bool) -> Value {
    Value::from(if value { "Y" } else { "N" })
}

/// Writes `members` (set ones, in order) and then `extra` as one object.
pub(crate) fn write<S: Serializer>(
    serializer: S,
    members: &[(&str, &dyn Member)],
    extra: Option<&Map<String, Value>>,
) -> Result<S::Ok, S::Error> {
    let mut map = serializer.serialize_map(None)?;
    for (name, member) in members {
        if let Some(value) = member.wire().map_err(S::Error::custom)? {
            map.serialize_entry(name, &value)?;
        }
    }
    for (name, value) in extra.into_iter().flatten() {
        map.serialize_entry(name, value)?;
    }
    map.end()
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Sample {
        id: u64,
        title: Option<String>,
        opened: Option<bool>,
        closed: Option<bool>,
        active: bool,
        extra: Map<String, Value>,
    }

    impl Serialize for Sample {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            write(
                serializer,
                &[
                    ("ID", &Always(&self.id)),
                    ("TITLE", &self.title),
                    ("OPENED", &YesNo(&self.opened)),
                    ("CLOSED", &YesNo(&self.closed)),
                    ("ACTIVE", &YesNoRequired(&self.active)),
                ],
                Some(&self.extra),
            )
        }
    }

    #[test]
    fn set_members_in_order_then_extra_unset_ones_left_out() {
        let mut extra = Map::new();
        extra.insert("UF_CRM_1".into(), Value::from(7));
        let s = Sample {
            id: 5,
            title: None,
            opened: Some(true),
            closed: None,
            active: false,
            extra,
        };
        let text = serde_json::to_string(&s).unwrap();
        assert_eq!(text, r#"{"ID":5,"OPENED":"Y","ACTIVE":"N","UF_CRM_1":7}"#);
        assert_eq!(
            serde_json::to_value(&s).unwrap(),
            serde_json::json!({"ID": 5, "OPENED": "Y", "ACTIVE": "N", "UF_CRM_1": 7})
        );
    }

    struct Refuses;

    impl Serialize for Refuses {
        fn serialize<S: Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
            Err(S::Error::custom("`filter` is not an object"))
        }
    }

    #[test]
    fn a_member_that_does_not_serialize_fails_with_its_message() {
        struct Holder(Option<Refuses>);
        impl Serialize for Holder {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                write(serializer, &[("filter", &self.0)], None)
            }
        }
        let err = serde_json::to_vec(&Holder(Some(Refuses))).unwrap_err();
        assert!(
            err.to_string().contains("`filter` is not an object"),
            "{err}"
        );
        assert_eq!(serde_json::to_vec(&Holder(None)).unwrap(), b"{}");
    }
}
