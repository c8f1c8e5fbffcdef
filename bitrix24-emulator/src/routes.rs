//! The route table type: every hand-written v2 method is one [`Route`] (name, scope, handler), so
//! adding one is one line in the table of the file that serves it.

use crate::core::{Caller, MethodResult};
use crate::state::Inner;
use serde_json::{Map, Value};
use std::sync::Arc;

/// A method handler: portal, caller, the method's lower-case name, parameters.
pub(crate) type Handler = fn(&Arc<Inner>, &Caller, &str, &Map<String, Value>) -> MethodResult;

/// The scope that opens a route.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Scope {
    /// Open to every caller (`server.time`, `batch`, `event.*`).
    Global,
    /// This scope (`user`, `department`, `crm`).
    Fixed(&'static str),
    /// The scope of the hand-served spec family stored under this key (`im.chat`, `disk.file`);
    /// the route exists only when the family does.
    Store(&'static str),
}

/// One hand-written method.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Route {
    /// Lower-case method name.
    pub name: &'static str,
    /// What opens it.
    pub scope: Scope,
    /// What runs it.
    pub run: Handler,
}

impl Route {
    /// A route (table shorthand).
    pub(crate) const fn new(name: &'static str, scope: Scope, run: Handler) -> Self {
        Self { name, scope, run }
    }
}

/// The routes of a hand-served family: each `store => [methods]` group gives its (lower-case)
/// methods, opened by the scope of the family stored under `store` (`Scope::Store(store)`),
/// all run by `run`.
macro_rules! store_routes {
    ($run:ident; $($store:literal => [$($name:literal),+ $(,)?]),+ $(,)?) => {
        &[$($($crate::routes::Route::new(
            $name,
            $crate::routes::Scope::Store($store),
            $run,
        ),)+)+]
    };
}
pub(crate) use store_routes;

/// The routes of one file, all opened by `scope`: each `"prefix." { "verb" => run, .. }` group
/// gives the (lower-case) methods `prefix.verb`, in order, as the docs write a family
/// (`booking.v1.resource.add|list`).
macro_rules! routes {
    ($scope:expr; $($prefix:literal { $($verb:literal => $run:expr),+ $(,)? })+) => {
        &[$($($crate::routes::Route::new(concat!($prefix, $verb), $scope, $run),)+)+]
    };
}
pub(crate) use routes;
