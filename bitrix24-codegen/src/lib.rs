//! Spec parser and generator for the `bitrix24` crate (work in progress).
