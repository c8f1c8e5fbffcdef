//! The conditions on one field of a typed filter: `Lead::filter().title()` is a [`Text`], whose
//! methods add one condition each and give the [`Filter`] back, so conditions chain:
//! `Lead::filter().title().starts_with("bulk").opportunity().gt(1000)`.
//!
//! Each field of a generated entity has one method on `Filter<Entity>` that names it; what can
//! be asked of the field follows its type:
//!
//! | handle | fields | conditions |
//! | --- | --- | --- |
//! | [`Number`] | ids, integers | `eq`, `ne`, `one_of`, `none_of`, `gt`, `ge`, `lt`, `le` |
//! | [`Range`] | decimals, floats, dates, date-times | `eq`, `ne`, `gt`, `ge`, `lt`, `le` |
//! | [`Text`] | strings | `eq`, `ne`, `one_of`, `none_of`, `contains`, `starts_with`, `ends_with`, `like` |
//! | [`Choice`] | enumerations | `eq`, `ne`, `one_of`, `none_of` |
//! | [`Flag`] | booleans | `eq` |

use serde::Serialize;

use super::{Filter, Op};

/// Defines a handle type: the filter being built and the wire name of its field.
macro_rules! handle {
    ($(#[$doc:meta])* $name:ident [$($t:ident),*]) => {
        $(#[$doc])*
        #[must_use = "a condition is added by one of its methods"]
        pub struct $name<E, $($t),*> {
            filter: Filter<E>,
            field: &'static str,
            value: std::marker::PhantomData<fn() -> ($($t,)*)>,
        }

        impl<E, $($t),*> $name<E, $($t),*> {
            /// The conditions on `field` (its wire name) of `filter`.
            pub fn on(filter: Filter<E>, field: &'static str) -> Self {
                Self { filter, field, value: std::marker::PhantomData }
            }

            fn add(self, op: Op, value: impl Serialize) -> Filter<E> {
                self.filter.op(op, self.field, value)
            }
        }
    };
}

/// Defines conditions that compare the field with one value, converted by `$conv`.
macro_rules! compare {
    ($name:ident [$($t:ident),*], $arg:ty, |$v:ident| $conv:expr, $($method:ident $op:ident $sym:literal $what:literal),*) => {
        impl<E, $($t: Serialize),*> $name<E, $($t),*> {
            $(
                #[doc = concat!("`", $sym, "`: the field is ", $what, " `value`.")]
                pub fn $method(self, $v: $arg) -> Filter<E> {
                    self.add(Op::$op, $conv)
                }
            )*
        }
    };
}

/// Defines `one_of` (`@`) and `none_of` (`!@`) over values converted by `$conv`.
macro_rules! lists {
    ($name:ident [$($t:ident),*], $item:ty, |$v:ident| $conv:expr) => {
        impl<E, $($t: Serialize),*> $name<E, $($t),*> {
            /// `@`: the field is one of `values`.
            pub fn one_of(self, values: impl IntoIterator<Item = $item>) -> Filter<E> {
                let values: Vec<_> = values.into_iter().map(|$v| $conv).collect();
                self.add(Op::In, values)
            }

            /// `!@`: the field is none of `values`.
            pub fn none_of(self, values: impl IntoIterator<Item = $item>) -> Filter<E> {
                let values: Vec<_> = values.into_iter().map(|$v| $conv).collect();
                self.add(Op::NotIn, values)
            }
        }
    };
}

handle! {
    /// An id or integer field (`T` is `u64` or `i64`): equality, lists and order.
    Number [T]
}
compare!(Number [T], T, |value| value,
    eq Eq "=" "equal to", ne Ne "!=" "not equal to", gt Gt ">" "greater than",
    ge Ge ">=" "greater than or equal to", lt Lt "<" "less than",
    le Le "<=" "less than or equal to");
lists!(Number[T], T, |value| value);

handle! {
    /// A decimal, float, date or date-time field: equality and order.
    Range [T]
}
compare!(Range [T], impl Into<T>, |value| value.into(),
    eq Eq "=" "equal to", ne Ne "!=" "not equal to", gt Gt ">" "greater than (later than)",
    ge Ge ">=" "greater than or equal to", lt Lt "<" "less than (earlier than)",
    le Le "<=" "less than or equal to");

handle! {
    /// A field of an enumeration `T`: equality and lists.
    Choice [T]
}
compare!(Choice [T], impl Into<T>, |value| value.into(),
    eq Eq "=" "equal to", ne Ne "!=" "not equal to");
lists!(Choice[T], impl Into<T>, |value| value.into());

handle! {
    /// A text field: equality, lists and the `LIKE` patterns.
    Text []
}
compare!(Text [], impl Into<String>, |value| value.into(),
    eq Eq "=" "equal to", ne Ne "!=" "not equal to");
lists!(Text [], impl Into<String>, |value| value.into());

impl<E> Text<E> {
    /// `%`: the field contains `value` (no `%` in it).
    pub fn contains(self, value: impl Into<String>) -> Filter<E> {
        self.add(Op::Contains, value.into())
    }

    /// `=%`: the field starts with `value` (sent as `value%`; `%` and `_` in it are
    /// wildcards).
    pub fn starts_with(self, value: impl Into<String>) -> Filter<E> {
        self.add(Op::Like, format!("{}%", value.into()))
    }

    /// `=%`: the field ends with `value` (sent as `%value`).
    pub fn ends_with(self, value: impl Into<String>) -> Filter<E> {
        self.add(Op::Like, format!("%{}", value.into()))
    }

    /// `=%`: the field matches the pattern `value` (`%` any text, `_` one character).
    pub fn like(self, value: impl Into<String>) -> Filter<E> {
        self.add(Op::Like, value.into())
    }
}

handle! {
    /// A boolean field. Legacy entities (UPPER_SNAKE fields) and `flag` fields compare with
    /// `"Y"`/`"N"`, as they store them ([`Flag::yes_no`]); D7 ones with JSON booleans.
    Flag []
}

impl<E> Flag<E> {
    /// The conditions on a field stored as `"Y"`/`"N"`.
    pub fn yes_no(filter: Filter<E>, field: &'static str) -> YesNo<E> {
        YesNo(Self::on(filter, field))
    }

    /// `=`: the field is `value`.
    pub fn eq(self, value: bool) -> Filter<E> {
        self.add(Op::Eq, value)
    }
}

/// A boolean field stored as `"Y"`/`"N"` (legacy entities, `flag` fields).
#[must_use = "a condition is added by one of its methods"]
pub struct YesNo<E>(Flag<E>);

impl<E> YesNo<E> {
    /// `=`: the field is `value` (sent as `"Y"`/`"N"`).
    pub fn eq(self, value: bool) -> Filter<E> {
        self.0.add(Op::Eq, if value { "Y" } else { "N" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    struct Row;

    fn conditions(filter: &Filter<Row>) -> serde_json::Value {
        serde_json::to_value(filter).unwrap()
    }

    #[test]
    fn each_handle_writes_the_documented_operator() {
        let f = Number::<Row, u64>::on(Filter::new(), "ID").gt(10);
        let f = Number::<Row, u64>::on(f, "ASSIGNED_BY_ID").one_of([1, 2]);
        let f = Text::on(f, "TITLE").starts_with("bulk");
        let f = Text::on(f, "COMMENTS").contains("x");
        let f = Range::<Row, f64>::on(f, "OPPORTUNITY").le(5);
        let f = Choice::<Row, String>::on(f, "STAGE_ID").none_of(["WON"]);
        let f = Flag::yes_no(f, "OPENED").eq(true);
        let f = Flag::on(f, "isManual").eq(false);
        assert_eq!(
            conditions(&f),
            json!({
                ">ID": 10, "@ASSIGNED_BY_ID": [1, 2], "=%TITLE": "bulk%", "%COMMENTS": "x",
                "<=OPPORTUNITY": 5.0, "!@STAGE_ID": ["WON"], "=OPENED": "Y", "=isManual": false
            })
        );
    }

    #[test]
    fn text_patterns_put_the_wildcards_where_they_belong() {
        let f = Text::<Row>::on(Filter::new(), "NAME").ends_with("son");
        let f = Text::on(f, "LAST_NAME").like("Iv_n%");
        let f = Text::on(f, "EMAIL").ne("a@b.c");
        assert_eq!(
            conditions(&f),
            json!({"=%NAME": "%son", "=%LAST_NAME": "Iv_n%", "!=EMAIL": "a@b.c"})
        );
    }
}
