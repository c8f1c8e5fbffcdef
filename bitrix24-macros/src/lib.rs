//! Derive macros for `bitrix24` (work in progress).
